"""Benchmark scaling at the sandbox (no HTTP): SnapStart restores and 1,000 idle environments.

Usage: .venv/bin/python -m bench.bench_scaling [--quick] [--only snapstart|http|idle]
Targets (issue 4): SnapStart cold start of a function whose init takes 500 ms, p50 <= 10 ms;
1,000 idle environments held in under 3 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

from bench.bench_sandbox import pct, pss_kb
from bench.common import print_rows
from lambdahost.sandbox import EnvironmentManager, EnvSpec, InvokeRequest, Outcome, SandboxSettings

# A realistic slow init: 500 ms of "work" (configuration, connections) plus ~20 MB of state.
SLOW_INIT = """import json, time, decimal, logging
time.sleep(0.5)
TABLE = {i: str(i) * 8 for i in range(200_000)}
def handler(event, context):
    return {"n": len(TABLE), "event": event}
"""
TRIVIAL = """def handler(event, context):
    return event
"""


def spec(code: str, key: str, handler: str, snap: bool) -> EnvSpec:
    environ = {"AWS_LAMBDA_FUNCTION_NAME": key, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}
    if snap:
        environ["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
    return EnvSpec(
        key=key,
        function_name=key,
        version="1",
        code_dir=code,
        handler=handler,
        runtime="python3.12",
        memory_mb=512,
        timeout_s=10,
        ephemeral_mb=512,
        environ=environ,
        snap_start=snap,
    )


def req(i: int) -> InvokeRequest:
    return InvokeRequest(request_id=f"req-{i}", payload=b'{"a": 1}', invoked_function_arn="arn:x")


def kill_idle(m: EnvironmentManager, key: str) -> None:
    """Make the next invoke of ``key`` a cold start (its warm environments are killed)."""
    for env in m._idle.pop(key, []):
        env.kill()


async def snapstart(args: argparse.Namespace, work: str, code: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    m = EnvironmentManager(SandboxSettings(work_dir=work, init_timeout_s=30))
    await m.start()
    try:
        # On-demand cold starts of the same function, for comparison.
        on_demand = spec(code, "slow", "slow.handler", snap=False)
        plain: list[float] = []
        for i in range(3):
            t = time.perf_counter()
            r = await m.invoke(on_demand, req(i))
            plain.append((time.perf_counter() - t) * 1000)
            assert r.outcome is Outcome.SUCCESS and r.cold_start, r
            kill_idle(m, on_demand.key)
        rows.append(("on-demand cold start, 500 ms init", f"{pct(plain, 50):.1f} ms", "n=3"))

        snap = spec(code, "snap", "slow.handler", snap=True)
        t = time.perf_counter()
        info = await m.prepare_snapshot(snap)
        rows.append(
            (
                "snapshot at publish (init once)",
                f"{(time.perf_counter() - t) * 1000:.0f} ms",
                f"init {info.init_ms:.0f} ms",
            )
        )
        n = 40 if args.quick else 300
        wall: list[float] = []
        restore: list[float] = []
        inside: list[float] = []
        for i in range(n):
            t = time.perf_counter()
            r = await m.invoke(snap, req(i))
            wall.append((time.perf_counter() - t) * 1000)
            assert r.outcome is Outcome.SUCCESS and r.cold_start, r
            assert r.restore_duration_ms is not None and r.init_duration_ms is None
            restore.append(r.restore_duration_ms)
            inside.append(r.billed_restore_ms or 0.0)
            kill_idle(m, snap.key)
            await asyncio.sleep(float(os.environ.get("BENCH_GAP", "0.005")))
        rows.append(
            (
                "SnapStart cold start (invoke wall)",
                f"{pct(wall, 50):.2f} ms",
                f"{pct(wall, 99):.2f} ms",
            )
        )
        rows.append(
            (
                "   of which Restore Duration",
                f"{pct(restore, 50):.2f} ms",
                f"{pct(restore, 99):.2f} ms",
            )
        )
        rows.append(
            (
                "   of which inside the environment",
                f"{pct(inside, 50):.2f} ms",
                f"{pct(inside, 99):.2f} ms",
            )
        )
        burst = 20 if args.quick else 50
        t = time.perf_counter()
        res = await asyncio.gather(*(m.invoke(snap, req(i)) for i in range(burst)))
        dt = time.perf_counter() - t
        assert all(r.outcome is Outcome.SUCCESS for r in res)
        rows.append(
            (
                f"SnapStart burst of {burst} restores",
                f"{burst / dt:.0f} envs/s",
                f"{dt * 1000:.0f} ms",
            )
        )
    finally:
        await m.close()
    return rows


async def idle_envs(args: argparse.Namespace, work: str, code: str) -> list[tuple[str, str, str]]:
    n = 200 if args.quick else 1000
    m = EnvironmentManager(
        SandboxSettings(work_dir=work, max_environments=n + 50, memory_budget_mb=None)
    )
    await m.start()
    try:
        t = time.perf_counter()
        for start in range(0, n, 100):
            res = await asyncio.gather(
                *(
                    m.invoke(spec(code, f"idle-{i}", "trivial.handler", snap=False), req(i))
                    for i in range(start, min(n, start + 100))
                )
            )
            assert all(r.outcome is Outcome.SUCCESS for r in res)
        made = time.perf_counter() - t
        await asyncio.sleep(1.0)
        envs = [e for e in m.snapshot() if e.key and e.key.startswith("idle-")]
        assert len(envs) == n, len(envs)
        pss = [pss_kb(e.pid) / 1024 for e in envs]
        zygote = pss_kb(m.zygote_pid or 0) / 1024
        total_gb = (sum(pss) + zygote) / 1024
        return [
            (f"{n} idle environments: total PSS", f"{total_gb:.2f} GB", f"made in {made:.1f} s"),
            (
                "   per environment (median PSS)",
                f"{statistics.median(pss):.2f} MB",
                f"max {max(pss):.2f} MB",
            ),
            (
                "   projected for 1,000",
                f"{statistics.mean(pss) * 1000 / 1024 + zygote / 1024:.2f} GB",
                "",
            ),
        ]
    finally:
        await m.close()


def snapstart_http(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The same over HTTP: published SnapStart version; restored environments are reaped
    between invokes (idle timeout 0.05 s), so every invoke is a restore."""
    import base64
    import json
    import shutil
    from pathlib import Path

    from bench.common import KeepAliveClient, signed_invoke
    from lambdahost.testing import ROLE, LiveServer, make_zip

    data_dir = Path(tempfile.mkdtemp(prefix="lh-bench-snap-", dir="/var/tmp"))
    server = LiveServer(
        data_dir=data_dir,
        store_url=f"sqlite:///{data_dir}/store.db",
        extra_args=("--idle-timeout", "0.05"),
    )
    server.start()
    try:
        lam = server.client()
        lam.create_function(
            FunctionName="snap",
            Runtime="python3.12",
            Role=ROLE,
            Handler="slow.handler",
            MemorySize=512,
            Code={"ZipFile": make_zip({"slow.py": SLOW_INIT})},
            SnapStart={"ApplyOn": "PublishedVersions"},
            Publish=True,
        )
        while (
            lam.get_function_configuration(FunctionName="snap", Qualifier="1")["State"] != "Active"
        ):
            time.sleep(0.05)
        client = KeepAliveClient(server.port)
        wall: list[float] = []
        restore: list[float] = []
        n = 30 if args.quick else 200
        for _ in range(n):
            time.sleep(0.3)  # the last environment is reaped: the next invoke restores
            path, headers = signed_invoke(server.endpoint, "snap:1", b"{}")
            headers["X-Amz-Log-Type"] = "Tail"
            t = time.perf_counter()
            status, body, response_headers = client.post(path, headers, b"{}")
            wall.append((time.perf_counter() - t) * 1000)
            assert status == 200 and json.loads(body)["n"] == 200_000, body
            report = base64.b64decode(response_headers["X-Amz-Log-Result"]).decode()
            restore.append(float(report.split("Restore Duration: ")[1].split(" ms")[0]))
        return [
            (
                "SnapStart cold start over HTTP",
                f"{pct(wall, 50):.2f} ms",
                f"{pct(wall, 99):.2f} ms",
            ),
            (
                "   of which Restore Duration",
                f"{pct(restore, 50):.2f} ms",
                f"{pct(restore, 99):.2f} ms",
            ),
        ]
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["snapstart", "idle", "http"])
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", "/var/tmp")) as d:
        code = os.path.join(d, "code")
        os.makedirs(code)
        with open(os.path.join(code, "slow.py"), "w") as f:
            f.write(SLOW_INIT)
        with open(os.path.join(code, "trivial.py"), "w") as f:
            f.write(TRIVIAL)
        if args.only in (None, "snapstart"):
            rows += asyncio.run(snapstart(args, os.path.join(d, "w1"), code))
        if args.only in (None, "http"):
            rows += snapstart_http(args)
        if args.only in (None, "idle"):
            rows += asyncio.run(idle_envs(args, os.path.join(d, "w2"), code))
    print_rows(rows)


if __name__ == "__main__":
    main()
