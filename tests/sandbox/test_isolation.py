"""Integration tests of isolation: timeouts, crashes, memory limits, /tmp, fallbacks."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from lambdahost.sandbox import EnvironmentManager, InvokeResult, Outcome
from tests.sandbox.helpers import mkspec, req, run, wait_dead

# -- timeouts and crashes --------------------------------------------------------------------------


def test_timeout_kills_env_and_next_invoke_is_cold(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult, int]:
        spec = mkspec(code, "fns.sleepy", timeout_s=1)
        t = time.monotonic()
        r = await m.invoke(spec, req("req-t"))
        assert time.monotonic() - t < 2.5
        child = int(re.search(r"child-pid (\d+)", r.log).group(1))  # type: ignore[union-attr]
        assert await wait_dead(child), "a setsid'd child of a timed-out env survived"
        assert not [i for i in m.snapshot() if i.key == spec.key]
        again = await m.invoke(dataclasses.replace(spec, handler="fns.pid"), req("r2"))
        return r, again, child

    r, again, _ = run(tmp_path, body)
    assert r.outcome is Outcome.TIMEOUT and r.error_type == "Sandbox.Timedout"
    assert r.payload == (
        b'{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: req-t '
        b'Error: Task timed out after 1.00 seconds"}'
    )
    assert re.search(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z req-t Task timed out after "
        r"1\.00 seconds$",
        r.log,
        re.M,
    )
    assert "init-line" in r.log
    assert again.cold_start and again.outcome is Outcome.SUCCESS


@pytest.mark.parametrize(
    ("handler", "message", "log_part"),
    [
        ("fns.exit3", "Runtime exited with error: exit status 3", "about to exit"),
        ("fns.sysexit", "Runtime exited with error: exit status 2", None),
        ("fns.segv", "Runtime exited with error: signal: segmentation fault", None),
    ],
)
def test_crashes(
    tmp_path: Path, code: str, handler: str, message: str, log_part: str | None
) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult]:
        spec = mkspec(code, handler)
        first = await m.invoke(spec, req("req-c"))
        return first, await m.invoke(dataclasses.replace(spec, handler="fns.pid"), req("r2"))

    r, again = run(tmp_path, body)
    assert r.outcome is Outcome.CRASH and r.error_type == "Runtime.ExitError"
    assert json.loads(r.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: req-c Error: {message}",
    }
    assert f"RequestId: req-c Error: {message}" in r.log
    if log_part:
        assert log_part in r.log
    assert again.cold_start


def test_out_of_memory(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult, str]:
        spec = mkspec(code, "fns.hog", memory_mb=128)
        small = await m.invoke(spec, req("r0", payload=b'{"mb": 16}'))
        big = await m.invoke(spec, req("req-oom", payload=b'{"mb": 400}'))
        return small, big, m.isolation["memory"]

    small, r, mode = run(tmp_path, body)
    assert small.outcome is Outcome.SUCCESS and 16 <= small.max_memory_used_mb < 128
    if not mode.startswith("cgroup"):
        pytest.skip("no memory cgroup on this machine (RLIMIT_AS fallback)")
    assert r.outcome is Outcome.CRASH and r.error_type == "Runtime.ExitError"
    assert r.payload == (
        b'{"errorType":"Runtime.ExitError","errorMessage":"RequestId: req-oom '
        b'Error: Runtime exited with error: signal: killed"}'
    )
    assert r.max_memory_used_mb >= 120


def test_cpu_in_proportion_to_memory(tmp_path: Path, code: str) -> None:
    def cpu_files_of(pid: int) -> tuple[int, int] | None:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "cpu" in controllers.split(","):
                    base = f"/sys/fs/cgroup/cpu{path}"
                    with (
                        open(f"{base}/cpu.shares") as shares,
                        open(f"{base}/cpu.cfs_quota_us") as q,
                    ):
                        return int(shares.read()), int(q.read())
        return None

    async def body(m: EnvironmentManager) -> dict[int, tuple[int, int] | None]:
        out = {}
        for memory in (128, 1769, 3538):
            result = await m.invoke(
                mkspec(code, "fns.pid", key=f"cpu-{memory}", memory_mb=memory), req()
            )
            out[memory] = cpu_files_of(int(result.payload))
        capped = mkspec(code, "fns.pid", key="cpu-capped", memory_mb=3072, cpu_limit=1.5)
        out[0] = cpu_files_of(int((await m.invoke(capped, req())).payload))
        return out

    if not os.path.exists("/sys/fs/cgroup/cpu/cpu.shares"):
        pytest.skip("no cgroup v1 cpu hierarchy on this machine")
    found = run(tmp_path, body)
    # shares in proportion to memory; a hard cap (CFS quota) only when asked (Managed Instances)
    assert found == {128: (74, -1), 1769: (1024, -1), 3538: (2048, -1), 0: (1778, 150_000)}


def test_processes_and_threads_are_capped_per_environment(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, InvokeResult]:
        spec = mkspec(code, "threads.handler", memory_mb=1024, timeout_s=30)
        first = await m.invoke(spec, req())
        again = await m.invoke(spec, req())  # the environment is fine afterwards
        return first, again

    if not os.path.exists("/sys/fs/cgroup/pids") and not os.path.exists(
        "/sys/fs/cgroup/cgroup.controllers"
    ):
        pytest.skip("no pids controller on this machine")
    first, again = run(tmp_path, body)
    assert first.outcome is Outcome.SUCCESS and again.outcome is Outcome.SUCCESS
    started = int(first.payload)
    assert 1000 <= started < 1024, "Lambda's quota: 1,024 processes and threads"
    assert int(again.payload) == started


# -- isolation ------------------------------------------------------------------------------------------


def test_private_tmp(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[Any, ...]:
        a = mkspec(code, "fns.write_tmp", key="fn-a")
        w1 = await m.invoke(a, req(payload=b'{"v": "s3cr3t"}'))
        seen_same = await m.invoke(dataclasses.replace(a, handler="fns.read_tmp"), req())
        seen_other = await m.invoke(mkspec(code, "fns.read_tmp", key="fn-b"), req())
        size = await m.invoke(mkspec(code, "fns.tmp_size", key="fn-c", ephemeral_mb=700), req())
        return w1, seen_same, seen_other, size, m.isolation["tmp"]

    w1, seen_same, seen_other, size, mode = run(tmp_path, body)
    assert w1.outcome is Outcome.SUCCESS and "secret" in json.loads(w1.payload)
    assert seen_same.payload == b"false" or seen_same.cold_start is False
    assert seen_other.payload == b"false"
    if "tmpfs" in mode:
        assert json.loads(size.payload) == 700


def test_code_dir_is_read_only(tmp_path: Path, code: str) -> None:
    async def body(m: EnvironmentManager) -> tuple[InvokeResult, str]:
        return await m.invoke(mkspec(code, "fns.write_code"), req()), m.isolation["tmp"]

    r, mode = run(tmp_path, body)
    if "tmpfs" not in mode:
        pytest.skip("no mount namespace")
    assert json.loads(r.payload) == 30  # EROFS
    assert not os.path.exists(os.path.join(code, "new.txt"))


# -- fallbacks: no memory cgroup (RLIMIT_AS), no mount namespace (TMPDIR) --------------------------

FALLBACK_FNS = """
import os, tempfile

def hog(event, context):
    blocks = [bytearray(b"\\x01") * (1 << 20) for _ in range(event["mb"])]
    return len(blocks)

def tmp(event, context):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b"x")
    return [os.environ.get("TMPDIR"), os.path.dirname(f.name)]
"""


def test_fallback_modes(tmp_path: Path) -> None:
    code = tmp_path / "fb"
    code.mkdir()
    (code / "fb.py").write_text(FALLBACK_FNS)

    async def body(m: EnvironmentManager) -> tuple[Any, ...]:
        assert m.isolation == {"memory": "none (RLIMIT_AS)", "tmp": "per-env dir (TMPDIR)"}
        ok = await m.invoke(mkspec(str(code), "fb.hog"), req(payload=b'{"mb": 8}'))
        oom = await m.invoke(mkspec(str(code), "fb.hog"), req("req-m", payload=b'{"mb": 400}'))
        t1 = await m.invoke(mkspec(str(code), "fb.tmp", key="t1"), req())
        t2 = await m.invoke(mkspec(str(code), "fb.tmp", key="t2"), req())
        return ok, oom, t1, t2

    ok, oom, t1, t2 = run(tmp_path, body, use_cgroups=False, use_namespaces=False)
    assert ok.outcome is Outcome.SUCCESS
    assert oom.outcome is Outcome.CRASH
    assert json.loads(oom.payload)["errorMessage"] == (
        "RequestId: req-m Error: Runtime exited with error: signal: killed"
    )
    d1, d2 = json.loads(t1.payload), json.loads(t2.payload)
    assert d1[0] == d1[1] and d2[0] == d2[1] and d1[0] != d2[0]
    assert not os.path.exists(d1[0])  # removed with its environment at close()
