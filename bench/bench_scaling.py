"""Benchmark scaling at the sandbox (no HTTP): SnapStart restores and 1,000 idle environments.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_scaling.py [--quick]
Targets (issue 4): SnapStart cold start of a function whose init takes 500 ms, p50 <= 10 ms;
1,000 idle environments held in under 3 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

from bench.bench_sandbox import pct, pss_kb
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
        for i in range(n):
            t = time.perf_counter()
            r = await m.invoke(snap, req(i))
            wall.append((time.perf_counter() - t) * 1000)
            assert r.outcome is Outcome.SUCCESS and r.cold_start, r
            assert r.restore_duration_ms is not None and r.init_duration_ms is None
            restore.append(r.restore_duration_ms)
            kill_idle(m, snap.key)
            await asyncio.sleep(0.005)
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["snapstart", "idle"])
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
        if args.only in (None, "idle"):
            rows += asyncio.run(idle_envs(args, os.path.join(d, "w2"), code))
    w = max(len(r[0]) for r in rows)
    print(f"{'metric':<{w}}  {'p50 / value':>14}  {'p99 / extra':>14}")
    for name, a, b in rows:
        print(f"{name:<{w}}  {a:>14}  {b:>14}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
