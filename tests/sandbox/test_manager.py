"""Integration tests: a real EnvironmentManager, zygote and forked environments:
results, logs, context, errors and the environment lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import textwrap
from pathlib import Path

import pytest

from lambdahost.sandbox import EnvironmentManager, EnvState, InvokeResult, Outcome, linux
from lambdahost.sandbox.cgroups import CgroupTree
from tests.sandbox.helpers import alive, mkspec, req, run, wait_dead

# -- success, logs, context -----------------------------------------------------------------------


def test_success_and_log_capture(tmp_path: Path, code: str) -> None:
    r = run(tmp_path, lambda m: m.invoke(mkspec(code, "fns.ok"), req()))
    assert r.outcome is Outcome.SUCCESS and r.error_type is None
    assert json.loads(r.payload) == {"ok": True, "event": {"a": 1}}
    assert r.payload == b'{"ok": true, "event": {"a": 1}}'
    lines = r.log.splitlines()
    assert lines[0] == "init-line"
    assert 'hello {"a": 1}' in lines
    assert re.search(
        r"^\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\tcareful$", r.log, re.M
    )
    assert "not shown" not in r.log
    assert "from-subprocess" in lines and "to-stderr" in lines
    assert lines.index('hello {"a": 1}') < lines.index("from-subprocess")
    assert r.cold_start and r.init_duration_ms is not None and r.duration_ms > 0
    assert r.max_memory_used_mb >= 1


def test_empty_payload_is_empty_object(tmp_path: Path, code: str) -> None:
    r = run(tmp_path, lambda m: m.invoke(mkspec(code, "fns.ok"), req(payload=b"")))
    assert json.loads(r.payload)["event"] == {}


def test_context_fields(tmp_path: Path, code: str) -> None:
    cc = json.dumps({"custom": {"k": "v"}, "env": {"e": 1}, "client": {"app_title": "t"}})
    r = run(
        tmp_path,
        lambda m: m.invoke(
            mkspec(code, "fns.ctx", function_name="myfn", timeout_s=3),
            req("rid-42", client_context=cc, trace_id="Root=1-abc;Sampled=1"),
        ),
    )
    out = json.loads(r.payload)
    assert out["request_id"] == "rid-42"
    assert out["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert (out["name"], out["version"], out["memory"]) == ("myfn", "$LATEST", "128")
    assert out["group"] == "/aws/lambda/myfn" and out["stream"] == "2026/11/22/[$LATEST]abc"
    assert out["identity"] is None
    assert 2500 < out["remaining"] <= 3000
    assert out["trace"] == "Root=1-abc;Sampled=1"
    assert out["custom"] == {"k": "v"} and out["cc_env"] == {"e": 1}
    assert out["cwd"] == code and out["path0"] == code


def test_environ_is_exactly_the_spec(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, str]:
        return await m.invoke(mkspec(code, "fns.environ"), req()), m.isolation["tmp"]

    r, tmp_mode = run(tmp_path, body)
    env = json.loads(r.payload)
    expected = dict(mkspec(code, "fns.environ").environ)
    if "TMPDIR" in env and "dir" in tmp_mode:
        expected["TMPDIR"] = env["TMPDIR"]
    assert env == expected


def test_nested_handler_path(tmp_path: Path, code: str) -> None:
    r = run(tmp_path, lambda m: m.invoke(mkspec(code, "pkg/mod.fn"), req()))
    assert r.outcome is Outcome.SUCCESS and r.payload == b'"nested"'


def test_cold_then_warm_reuses_the_env(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> list[InvokeResult]:
        spec = mkspec(code, "fns.pid")
        out = [await m.invoke(spec, req(f"r{i}")) for i in range(3)]
        infos = [i for i in m.snapshot() if i.key == spec.key]
        assert len(infos) == 1 and infos[0].invocations == 3
        assert infos[0].state is EnvState.IDLE
        return out

    a, b, c = run(tmp_path, body)
    assert [x.cold_start for x in (a, b, c)] == [True, False, False]
    assert a.init_duration_ms is not None and b.init_duration_ms is None
    assert c.init_duration_ms is None
    assert a.payload == b.payload == c.payload
    assert "init-line" in a.log and "init-line" not in b.log


def test_concurrent_invokes_get_separate_envs(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> list[InvokeResult]:
        spec = mkspec(code, "fns.pid")
        return list(await asyncio.gather(*(m.invoke(spec, req(f"r{i}")) for i in range(4))))

    results = run(tmp_path, body)
    assert len({r.payload for r in results}) == 4


# -- function and init errors ----------------------------------------------------------------------


def test_function_error(tmp_path: Path, code: str) -> None:
    r = run(tmp_path, lambda m: m.invoke(mkspec(code, "fns.fail"), req("req-e")))
    assert r.outcome is Outcome.FUNCTION_ERROR and r.error_type == "ValueError"
    body = json.loads(r.payload)
    assert body["errorMessage"] == "bad input" and body["errorType"] == "ValueError"
    assert body["requestId"] == "req-e"
    assert len(body["stackTrace"]) == 1
    assert body["stackTrace"][0].startswith(f'  File "{code}/fns.py", line ')
    assert 'raise ValueError("bad input")' in body["stackTrace"][0]
    assert "[ERROR] ValueError: bad input\rTraceback (most recent call last):\r" in r.log


def test_marshal_error(tmp_path: Path, code: str) -> None:
    r = run(tmp_path, lambda m: m.invoke(mkspec(code, "fns.unmarshalable"), req()))
    assert r.outcome is Outcome.FUNCTION_ERROR and r.error_type == "Runtime.MarshalError"
    assert json.loads(r.payload)["errorMessage"] == (
        "Unable to marshal response: Object of type object is not JSON serializable"
    )


@pytest.mark.parametrize(
    ("handler", "etype", "message"),
    [
        (
            "nomod.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'nomod': No module named 'nomod'",
        ),
        ("fns.nohandler", "Runtime.HandlerNotFound", "Handler 'nohandler' missing on module 'fns'"),
        (
            "x",
            "Runtime.MalformedHandlerName",
            "Bad handler 'x': not enough values to unpack (expected 2, got 1)",
        ),
        (
            "initfail.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'initfail': config missing",
        ),
        (
            "syntax.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'syntax': invalid syntax (syntax.py, line 2)",
        ),
    ],
)
def test_init_errors(tmp_path: Path, code: str, handler: str, etype: str, message: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult]:
        spec = mkspec(code, handler)
        first = await m.invoke(spec, req("r1"))
        assert not [i for i in m.snapshot() if i.key == spec.key]  # discarded
        return first, await m.invoke(spec, req("r2"))

    first, second = run(tmp_path, body)
    for r in (first, second):
        assert r.outcome is Outcome.INIT_ERROR and r.error_type == etype
        assert r.cold_start and r.init_duration_ms is not None
        err = json.loads(r.payload)
        assert err["errorType"] == etype and err["requestId"] == ""
        if etype != "Runtime.UserCodeSyntaxError":
            assert err["errorMessage"] == message
        else:
            assert err["errorMessage"].startswith("Syntax error in module 'syntax': ")
            assert err["errorMessage"].endswith("(syntax.py, line 2)")
        assert f"[ERROR] {etype}: " in r.log


def test_import_module_error_body_is_exact(tmp_path: Path, code: str) -> None:
    r = run(tmp_path, lambda m: m.invoke(mkspec(code, "app.handler"), req()))
    assert r.payload == (
        b'{"errorMessage": "Unable to import module \'app\': No module named '
        b'\'app\'", "errorType": "Runtime.ImportModuleError", "requestId": "", '
        b'"stackTrace": []}'
    )
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'app'" in r.log


# -- lifecycle: reaping, discard, close, zygote loss ------------------------------------------------


def test_idle_reaping(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[int, bool]:
        spec = mkspec(code, "fns.pid")
        r = await m.invoke(spec, req())
        pid = int(r.payload)
        await asyncio.sleep(0.6)
        gone = not [i for i in m.snapshot() if i.key == spec.key]
        return pid, gone and await wait_dead(pid)

    _, gone = run(tmp_path, body, idle_timeout_s=0.2, sweep_interval_s=0.05)
    assert gone


def test_discard(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult, bool, bool]:
        a = mkspec(code, "fns.pid", key="fn:1:rev-a")
        b = mkspec(code, "fns.pid", key="other:1")
        ra = await m.invoke(a, req())
        await m.invoke(b, req())
        m.discard("fn:")
        keys = {i.key for i in m.snapshot()}
        dead = await wait_dead(int(ra.payload))
        return ra, await m.invoke(a, req()), "fn:1:rev-a" not in keys and "other:1" in keys, dead

    first, second, keys_ok, dead = run(tmp_path, body)
    assert keys_ok and dead
    assert second.cold_start and second.payload != first.payload


def test_close_leaves_no_processes(tmp_path: Path, code: str) -> None:
    pids: list[int] = []
    cgroup_dirs: list[str] = []

    async def body(m: EnvironmentManager) -> None:
        await m.invoke(mkspec(code, "fns.pid", key="k1"), req())
        r = await m.invoke(mkspec(code, "fns.background", key="k2"), req())
        pids.append(int(r.payload))  # a setsid'd grandchild that outlives its invocation
        await m.invoke(mkspec(code, "fns.pid", key="k3"), req())
        await asyncio.sleep(0.05)
        pids.extend(i.pid for i in m.snapshot())
        assert m.zygote_pid is not None
        pids.append(m.zygote_pid)
        if m._cgtree is not None:
            cgroup_dirs.append(m._cgtree.base)

    run(tmp_path, body)
    survivors = [p for p in pids if alive(p)]
    assert survivors == []
    for d in cgroup_dirs:
        assert not os.path.exists(d)


def test_zygote_loss_is_survived(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult]:
        spec = mkspec(code, "fns.sleepy", timeout_s=5)
        task = asyncio.ensure_future(m.invoke(spec, req("req-z")))
        await asyncio.sleep(0.3)
        assert m.zygote_pid is not None
        os.kill(m.zygote_pid, signal.SIGKILL)
        crashed = await asyncio.wait_for(task, 3)
        for _ in range(300):
            if m.zygote_pid is not None:
                break
            await asyncio.sleep(0.01)
        return crashed, await m.invoke(mkspec(code, "fns.pid"), req())

    crashed, after = run(tmp_path, body)
    assert crashed.outcome is Outcome.CRASH
    assert after.outcome is Outcome.SUCCESS and after.cold_start


def test_cancelled_invoke_returns_env_to_pool(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, list[EnvState]]:
        spec = mkspec(code, "fns.slow")
        await m.invoke(spec, req())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(m.invoke(spec, req()), 0.05)
        assert [i.state for i in m.snapshot() if i.key == spec.key] == [EnvState.INVOKING]
        await asyncio.sleep(0.3)
        states = [i.state for i in m.snapshot() if i.key == spec.key]
        return await m.invoke(spec, req()), states

    r, states = run(tmp_path, body)
    assert states == [EnvState.IDLE]
    assert r.outcome is Outcome.SUCCESS and not r.cold_start


def test_whole_env_text_output_is_utf8(tmp_path: Path, code: str) -> None:
    (Path(code) / "uni.py").write_text(
        textwrap.dedent("""
        def handler(event, context):
            print("héllo ✓")
            return {"s": "✓"}
    """)
    )
    r = run(tmp_path, lambda m: m.invoke(mkspec(code, "uni.handler"), req()))
    assert "héllo ✓" in r.log
    assert r.payload == '{"s": "✓"}'.encode()  # python3.12 runtime: ensure_ascii=False


PLATFORM = """
import asyncio, json, sys
from lambdahost.sandbox import EnvironmentManager, SandboxSettings
from tests.sandbox.helpers import mkspec, req

async def main():
    m = EnvironmentManager(SandboxSettings(work_dir=sys.argv[1], pool_size=1))
    await m.start()
    await m.invoke(mkspec(sys.argv[2], "fns.pid"), req())
    print(json.dumps([m.zygote_pid] + [i.pid for i in m.snapshot()]), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_envs_die_with_the_platform(tmp_path: Path, code: str) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=f"{root / 'src'}:{root}")
    # Orphans get reparented to us (not to PID 1, which may not reap) so we can reap them.
    linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", PLATFORM, str(tmp_path / "work"), code],
            stdout=subprocess.PIPE,
            env=env,
        )
        try:
            assert proc.stdout is not None
            pids = json.loads(proc.stdout.readline())
            assert len(pids) >= 3 and all(alive(p) for p in pids)
        finally:
            proc.kill()
            proc.wait()
        survivors = [p for p in pids if not asyncio.run(wait_dead(p))]
        for pid in set(pids) - set(survivors):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    finally:
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 0)
    assert survivors == []
    tree = CgroupTree.create()  # a new platform sweeps the dead one's cgroups
    if tree is not None:
        tree.remove_base()
        parent = os.path.dirname(tree.base)
        assert not [d for d in os.listdir(parent) if d == f"lambdahost-{proc.pid}"]


def test_provisioned_environments_are_ready_before_the_first_invoke(
    tmp_path: Path, code: str
) -> None:
    async def body(m: EnvironmentManager) -> None:
        spec = mkspec(code, "fns.pid", key="prov:1:r")
        assert await m.provision(spec, 2) is None
        assert m.provisioned("prov:1:r") == (2, 2)
        pids = {i.pid for i in m.snapshot() if i.key == "prov:1:r"}
        assert len(pids) == 2
        first = await m.invoke(spec, req("r1"))
        assert not first.cold_start and first.init_duration_ms is None
        assert json.loads(first.payload) in pids
        victim = next(iter(pids))
        os.kill(victim, signal.SIGKILL)
        for _ in range(300):
            await asyncio.sleep(0.01)
            now = {i.pid for i in m.snapshot() if i.key == "prov:1:r"}
            if victim not in now and m.provisioned("prov:1:r")[0] == 2:
                break
        assert m.provisioned("prov:1:r")[0] == 2, "a provisioned env that dies is replaced"
        m.sweep()
        assert m.provisioned("prov:1:r")[0] == 2, "provisioned envs are not reaped as idle"
        m.unprovision("prov:1:r")
        assert m.provisioned("prov:1:r") == (0, 0)

    run(tmp_path, body, idle_timeout_s=0.0)


def test_provisioning_reports_init_errors(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> str | None:
        reason = await m.provision(mkspec(code, "initfail.handler", key="bad:1:r"), 1)
        assert m.provisioned("bad:1:r") == (0, 0)
        return reason

    reason = run(tmp_path, body)
    assert reason is not None and "config missing" in reason
