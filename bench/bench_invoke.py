"""End-to-end Invoke benchmarks over HTTP against a live server (SigV4 on).

G1  cold start: first invoke of a new trivial function, client-side latency.
G2  warm invoke: keep-alive client, c=1; platform overhead = latency minus handler time.
G3  throughput: wrk, 32 connections, pre-signed Invoke requests (needs `wrk`).
G6  idle environment memory: PSS of each warm environment after its first invoke.

Usage: .venv/bin/python -m bench.bench_invoke [--cold N] [--warm N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import TRIVIAL, KeepAliveClient, fmt, percentiles, run_wrk, signed_invoke
from lambdahost.testing import ROLE, LiveServer, make_zip


def pss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", type=int, default=300)
    parser.add_argument("--warm", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lh-bench-"))
    server = LiveServer(
        data_dir=data_dir,
        store_url=f"sqlite:///{data_dir}/store.db",
        extra_args=("--idle-timeout", "600"),
    )
    server.start()
    try:
        run(server, args)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def run(server: LiveServer, args: argparse.Namespace) -> None:
    lam = server.client()
    code = make_zip({"app.py": TRIVIAL})
    payload = b'{"hello": "world"}'
    print(f"machine: {os.cpu_count()} CPUs; server and client share them")

    # --- G1: cold starts ---------------------------------------------------
    names = [f"cold-{i}" for i in range(args.cold)]
    for name in names:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": code},
        )
    client = KeepAliveClient(server.port)
    cold: list[float] = []
    for name in names:
        path, headers = signed_invoke(server.endpoint, name, payload)
        started = time.perf_counter()
        status, body, _ = client.post(path, headers, payload)
        cold.append((time.perf_counter() - started) * 1000)
        assert status == 200 and b"statusCode" in body, body
        time.sleep(0.005)  # let the generic pool refill, as between real arrivals
    print(f"G1 cold start (target p50 <= 5 ms, p99 <= 15 ms): {fmt(percentiles(cold))}")

    # --- G6: idle environment memory --------------------------------------
    from lambdahost.cli.client import Target, signed_get
    from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY

    _, _, body = signed_get(
        Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY), "/_lambdahost/v1/environments"
    )
    pids = [e["Pid"] for e in json.loads(body)["Environments"] if e["Pid"]]
    values = [v for v in (pss_kb(p) for p in pids) if v is not None]
    if values:
        values.sort()
        print(
            f"G6 idle environment PSS (target <= 3 MB): median {values[len(values) // 2] / 1024:.2f} MB, "
            f"max {values[-1] / 1024:.2f} MB over {len(values)} environments "
            f"(total {sum(values) / 1024:.0f} MB)"
        )

    # --- G2: warm invokes --------------------------------------------------
    lam.create_function(
        FunctionName="warm",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": code},
    )
    path, headers = signed_invoke(server.endpoint, "warm", payload)
    for _ in range(500):
        client.post(path, headers, payload)
    warm: list[float] = []
    for _ in range(args.warm):
        started = time.perf_counter()
        status, _, _ = client.post(path, headers, payload)
        warm.append((time.perf_counter() - started) * 1000)
    stats = percentiles(warm)
    print(f"G2 warm invoke round trip (target overhead p50 <= 0.5 ms, p99 <= 3 ms): {fmt(stats)}")
    tail = lam.invoke(FunctionName="warm", LogType="Tail")["LogResult"]
    import base64

    report = [
        line for line in base64.b64decode(tail).decode().splitlines() if line.startswith("REPORT")
    ]
    print(f"    handler time as reported: {report[-1].split(chr(9))[1] if report else '?'}")

    # --- G3: throughput with wrk ---------------------------------------------
    summary = run_wrk(server.endpoint, path, headers, payload, 32, args.seconds)
    if summary is None:
        print("G3 skipped: wrk is not installed (apt-get install wrk)")
        return
    print(f"G3 throughput, wrk -t1 -c32 (target >= 8000/s, p99 <= 50 ms): {summary}")


if __name__ == "__main__":
    main()
