"""SnapStart in the sandbox: templates, restores, hooks, random state, isolation."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from lambdahost.sandbox import EnvironmentManager, EnvState, Outcome
from lambdahost.sandbox.snapstart import SnapshotError
from tests.sandbox.helpers import mkspec, req, run

SNAP = """
import os, random, tempfile, time
from snapshot_restore_py import register_after_restore, register_before_snapshot

EVENTS = []
time.sleep(float(os.environ.get("INIT_SLEEP", "0")))
INIT_PID = os.getpid()
SEEDED = random.random()  # drawn during init: the same in every restored environment
TMP = tempfile.gettempdir()  # /tmp, or the environment's TMPDIR without mount namespaces
with open(os.path.join(TMP, "from-init"), "w") as f:
    f.write("init")

@register_before_snapshot
def first_registered():
    EVENTS.append("before-1")

def second_registered(tag, *, suffix):
    EVENTS.append(tag + suffix)

register_before_snapshot(second_registered, "before-2", suffix="!")

@register_after_restore
def restored():
    EVENTS.append("after")
    print("after-restore ran", flush=True)

def handler(event, context):
    if event.get("write"):
        with open(os.path.join(tempfile.gettempdir(), "mine"), "w") as f:
            f.write(event["write"])
    return {
        "events": EVENTS, "pid": os.getpid(), "init_pid": INIT_PID,
        "random": random.random(), "seeded": SEEDED,
        "tmp": sorted(os.listdir(tempfile.gettempdir())),
        "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
    }
"""

BAD_BEFORE = """
from snapshot_restore_py import register_before_snapshot

@register_before_snapshot
def boom():
    raise RuntimeError("cannot snapshot this")

def handler(event, context):
    return 1
"""

BAD_AFTER = """
from snapshot_restore_py import register_after_restore

@register_after_restore
def boom():
    raise RuntimeError("cannot restore this")

def handler(event, context):
    return 1
"""

# Init fails once the file named by FAIL_IF exists (to fail a later re-snapshot only).
FLAKY = """
import os
if os.path.exists(os.environ["FAIL_IF"]):
    raise RuntimeError("the configuration is gone")

def handler(event, context):
    return os.getpid()
"""


@pytest.fixture()
def snap_code(tmp_path: Path) -> str:
    d = tmp_path / "snapcode"
    d.mkdir()
    (d / "snap.py").write_text(SNAP)
    (d / "bad_before.py").write_text(BAD_BEFORE)
    (d / "bad_after.py").write_text(BAD_AFTER)
    (d / "flaky.py").write_text(FLAKY)
    return str(d)


def _spec(code: str, handler: str, key: str, **environ: str):  # type: ignore[no-untyped-def]
    spec = mkspec(code, handler, key=key, snap_start=True)
    env = dict(spec.environ, AWS_LAMBDA_INITIALIZATION_TYPE="snap-start", **environ)
    return type(spec)(**{**spec.__dict__, "environ": env})


@pytest.mark.parametrize("namespaces", [None, False], ids=["auto", "no-namespaces"])
def test_restored_environments_start_from_the_snapshot(
    tmp_path: Path, snap_code: str, namespaces: bool | None
) -> None:
    async def body(m: EnvironmentManager) -> None:
        spec = _spec(snap_code, "snap.handler", "snap:1:r", INIT_SLEEP="0.3")
        info = await m.prepare_snapshot(spec)
        assert info.init_ms >= 300
        template_pid = next(i.pid for i in m.snapshot() if i.state is EnvState.TEMPLATE)

        results = await asyncio.gather(*(m.invoke(spec, req(f"r{i}")) for i in range(3)))
        bodies = [json.loads(r.payload) for r in results]
        for r, b in zip(results, bodies, strict=True):
            assert r.outcome is Outcome.SUCCESS and r.cold_start
            assert r.init_duration_ms is None
            assert r.restore_duration_ms is not None and r.restore_duration_ms < 250
            assert r.billed_restore_ms is not None
            # Max Memory Used counts the initialised memory inherited from the template
            assert r.max_memory_used_mb >= 8
            assert "after-restore ran" in r.log
            # before-snapshot hooks ran once, last registered first; after-restore once each
            assert b["events"] == ["before-2!", "before-1", "after"]
            assert b["init_pid"] == template_pid != b["pid"]
            assert b["init_type"] == "snap-start"
            assert "from-init" in b["tmp"]
        assert len({b["pid"] for b in bodies}) == 3
        assert len({b["seeded"] for b in bodies}) == 1, "init state comes from one snapshot"
        assert len({b["random"] for b in bodies}) == 3, "randomness is re-seeded per restore"

        # Each restored environment has a private /tmp.
        mine = await m.invoke(spec, req("w", b'{"write": "x"}'))
        assert "mine" in json.loads(mine.payload)["tmp"]
        others = await asyncio.gather(*(m.invoke(spec, req(f"o{i}")) for i in range(4)))
        assert any("mine" not in json.loads(o.payload)["tmp"] for o in others)

        # Warm reuse: no restore reported again.
        again = await m.invoke(spec, req("warm"))
        assert not again.cold_start and again.restore_duration_ms is None

    run(tmp_path, body, use_namespaces=namespaces)


def test_before_snapshot_hook_failure_fails_the_snapshot(tmp_path: Path, snap_code: str) -> None:
    async def body(m: EnvironmentManager) -> SnapshotError:
        with pytest.raises(SnapshotError) as info:
            await m.prepare_snapshot(_spec(snap_code, "bad_before.handler", "bb:1:r"))
        assert not m.has_snapshot("bb:1:r")
        return info.value

    error = run(tmp_path, body)
    assert error.error_type == "Runtime.BeforeSnapshotError"
    assert "cannot snapshot this" in error.message


def test_after_restore_hook_failure_fails_the_invoke(tmp_path: Path, snap_code: str) -> None:
    async def body(m: EnvironmentManager) -> None:
        spec = _spec(snap_code, "bad_after.handler", "ba:1:r")
        await m.prepare_snapshot(spec)
        result = await m.invoke(spec, req("r1"))
        assert result.outcome is Outcome.INIT_ERROR
        assert result.error_type == "Runtime.AfterRestoreError"
        assert "cannot restore this" in result.log
        assert m.has_snapshot("ba:1:r"), "the template survives a failed restore"

    run(tmp_path, body)


def test_template_is_recreated_when_it_dies_and_dropped_on_discard(
    tmp_path: Path, snap_code: str
) -> None:
    async def body(m: EnvironmentManager) -> None:
        spec = _spec(snap_code, "snap.handler", "re:1:r")
        first = await m.invoke(spec, req("a"))  # no template yet: made on demand
        assert first.outcome is Outcome.SUCCESS and first.restore_duration_ms is not None
        template_pid = json.loads(first.payload)["init_pid"]
        os.kill(template_pid, signal.SIGKILL)
        for _ in range(300):
            await asyncio.sleep(0.01)
            if not m.has_snapshot("re:1:r"):
                break
        assert not m.has_snapshot("re:1:r")
        # Its restored children died with it; the next cold start makes a new template.
        second = await m.invoke(spec, req("b"))
        assert second.outcome is Outcome.SUCCESS and second.cold_start
        assert json.loads(second.payload)["init_pid"] != template_pid
        m.discard("re:")
        assert not m.has_snapshot("re:1:r")
        for _ in range(300):
            await asyncio.sleep(0.01)
            if not [i for i in m.snapshot() if i.key and i.key.startswith("re:")]:
                break
        assert not [i for i in m.snapshot() if i.key and i.key.startswith("re:")]

    run(tmp_path, body)


def test_discarding_a_version_while_it_is_snapshotted(tmp_path: Path, snap_code: str) -> None:
    from lambdahost.sandbox import SandboxError

    async def body(m: EnvironmentManager) -> None:
        spec = _spec(snap_code, "snap.handler", "gone:1:r", INIT_SLEEP="0.5")
        making = asyncio.ensure_future(m.prepare_snapshot(spec))
        await asyncio.sleep(0.15)
        m.discard("gone:")
        with pytest.raises(SandboxError):
            await making
        assert not m.has_snapshot("gone:1:r")
        for _ in range(300):
            if not [i for i in m.snapshot() if i.key and i.key.startswith("gone:")]:
                break
            await asyncio.sleep(0.01)
        assert not [i for i in m.snapshot() if i.key and i.key.startswith("gone:")]

    run(tmp_path, body)


def test_a_standby_that_dies_is_forked_again(tmp_path: Path, snap_code: str) -> None:
    async def body(m: EnvironmentManager) -> None:
        spec = _spec(snap_code, "snap.handler", "sb:1:r")
        await m.prepare_snapshot(spec)

        def standby() -> int | None:
            template = m._templates["sb:1:r"]
            env = template.standby
            return env.pid if env is not None and env.lifecycle.alive else None

        for _ in range(300):
            if standby() is not None:
                break
            await asyncio.sleep(0.01)
        first = standby()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for _ in range(300):  # the template reports its child's death
            if standby() is None:
                break
            await asyncio.sleep(0.01)
        result = await m.invoke(spec, req("r1"))  # forked on demand: the standby is gone
        assert result.outcome is Outcome.SUCCESS and json.loads(result.payload)["pid"] != first
        for _ in range(300):
            if standby() not in (None, first):
                break
            await asyncio.sleep(0.01)
        assert standby() not in (None, first), "a new standby is ready"

    run(tmp_path, body)


def test_unused_templates_are_reaped_and_made_again(tmp_path: Path, snap_code: str) -> None:
    import tempfile

    # Outside /tmp: environments have a private /tmp.
    marker = Path(tempfile.mkdtemp(prefix="lh-test-", dir="/var/tmp")) / "fail-now"

    async def body(m: EnvironmentManager) -> None:
        spec = _spec(snap_code, "flaky.handler", "lazy:1:r", FAIL_IF=str(marker))
        await m.prepare_snapshot(spec)
        first = await m.invoke(spec, req("r1"))
        assert first.outcome is Outcome.SUCCESS and first.init_duration_ms is None
        for _ in range(300):  # idle timeout 0.2 s: the restored env, then the template, go
            await asyncio.sleep(0.02)
            m.sweep()
            if not m.has_snapshot("lazy:1:r"):
                break
        assert not m.has_snapshot("lazy:1:r")
        assert not [i for i in m.snapshot() if i.key and i.key.startswith("lazy:")]

        again = await m.invoke(spec, req("r2"))  # made again, then restored
        assert again.outcome is Outcome.SUCCESS and again.cold_start
        assert again.init_duration_ms is not None and again.restore_duration_ms is not None
        assert m.has_snapshot("lazy:1:r")

        m.discard("lazy:")
        marker.touch()
        failed = await m.invoke(spec, req("r3"))  # the snapshot cannot be made any more
        assert failed.outcome is Outcome.INIT_ERROR
        assert "the configuration is gone" in failed.payload.decode()
        assert not m.has_snapshot("lazy:1:r")

    try:
        run(tmp_path, body, idle_timeout_s=0.2, sweep_interval_s=3600)
    finally:
        shutil.rmtree(marker.parent, ignore_errors=True)
