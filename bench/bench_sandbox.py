"""Benchmark the sandbox directly (no HTTP): cold start, warm round trip, burst, idle PSS.

Usage: .venv/bin/python -m bench.bench_sandbox [--quick] [--uvloop]
Targets (performance-targets.md §8): G1 cold p50 <= 5 ms, G2 warm overhead p50 <= 0.5 ms,
G6 idle env PSS <= 3 MB, G7 >= 300 new envs/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

from bench.common import print_rows
from lambdahost.sandbox import EnvironmentManager, EnvSpec, InvokeRequest, Outcome, SandboxSettings

HANDLER = """import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""
PAYLOAD = b'{"hello": "world", "n": 1}'


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100.0 * (len(xs) - 1)))]


def spec(code: str, key: str) -> EnvSpec:
    return EnvSpec(
        key=key,
        function_name=key,
        version="$LATEST",
        code_dir=code,
        handler="app.handler",
        runtime="python3.12",
        memory_mb=128,
        timeout_s=3,
        ephemeral_mb=512,
        environ={"AWS_LAMBDA_FUNCTION_NAME": key, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"},
    )


def req(i: int) -> InvokeRequest:
    return InvokeRequest(request_id=f"req-{i}", payload=PAYLOAD, invoked_function_arn="arn:x")


def pss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


async def run(args: argparse.Namespace, work: str, code: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    m = EnvironmentManager(
        SandboxSettings(work_dir=work, pool_size=args.pool, freeze_idle=not args.no_freeze)
    )
    await m.start()
    await asyncio.sleep(0.3)
    n_cold = 60 if args.quick else 300
    n_warm = 1000 if args.quick else 10000
    try:
        # cold start: new key each time, pool given a moment to refill (a "zygote hit")
        cold: list[float] = []
        inits: list[float] = []
        for i in range(n_cold):
            key = f"cold-{i}"
            t = time.perf_counter()
            r = await m.invoke(spec(code, key), req(i))
            cold.append((time.perf_counter() - t) * 1000)
            assert r.outcome is Outcome.SUCCESS and r.cold_start, r
            inits.append(r.init_duration_ms or 0.0)
            m.discard(key)
            await asyncio.sleep(0.01)
        rows.append(
            ("G1 cold start (invoke wall)", f"{pct(cold, 50):.2f} ms", f"{pct(cold, 99):.2f} ms")
        )
        rows.append(
            ("   of which Init Duration", f"{pct(inits, 50):.2f} ms", f"{pct(inits, 99):.2f} ms")
        )

        # warm round trip
        s = spec(code, "warm")
        await m.invoke(s, req(0))
        warm: list[float] = []
        over: list[float] = []
        for i in range(n_warm):
            t = time.perf_counter()
            r = await m.invoke(s, req(i))
            dt = (time.perf_counter() - t) * 1000
            warm.append(dt)
            over.append(dt - r.duration_ms)
        rows.append(
            ("G2 warm invoke round trip", f"{pct(warm, 50):.3f} ms", f"{pct(warm, 99):.3f} ms")
        )
        rows.append(
            ("   overhead (minus handler)", f"{pct(over, 50):.3f} ms", f"{pct(over, 99):.3f} ms")
        )

        # idle PSS: 20 warm envs after one invoke each
        keys = [f"pss-{i}" for i in range(20)]
        for i, k in enumerate(keys):
            await m.invoke(spec(code, k), req(i))
        await asyncio.sleep(0.2)
        pids = [e.pid for e in m.snapshot() if e.key in keys]
        pss = [pss_kb(p) / 1024 for p in pids]
        rows.append(
            (
                "G6 idle env PSS (mean of 20)",
                f"{statistics.mean(pss):.2f} MB",
                f"max {max(pss):.2f} MB",
            )
        )
        for k in keys:
            m.discard(k)
        await asyncio.sleep(0.3)

        # burst: many new envs at once
        n_burst = 100 if args.quick else 300
        t = time.perf_counter()
        res = await asyncio.gather(
            *(m.invoke(spec(code, f"burst-{i}"), req(i)) for i in range(n_burst))
        )
        dt = time.perf_counter() - t
        assert all(r.outcome is Outcome.SUCCESS for r in res)
        rows.append(
            (
                f"G7 burst of {n_burst} new envs",
                f"{n_burst / dt:.0f} envs/s",
                f"{dt * 1000:.0f} ms total",
            )
        )
    finally:
        await m.close()
    rows.append(("isolation", m.isolation["memory"], m.isolation["tmp"]))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--uvloop", action="store_true")
    ap.add_argument("--no-freeze", action="store_true")
    ap.add_argument("--pool", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", "/var/tmp")) as d:
        code = os.path.join(d, "code")
        os.makedirs(code)
        with open(os.path.join(code, "app.py"), "w") as f:
            f.write(HANDLER)
        work = os.path.join(d, "work")
        if args.uvloop:
            import uvloop

            rows = uvloop.run(run(args, work, code))
        else:
            rows = asyncio.run(run(args, work, code))
    print_rows(rows)


if __name__ == "__main__":
    main()
