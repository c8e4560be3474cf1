"""Durable Event invocation benchmarks over HTTP (SigV4 on, SQLite store, synchronous=FULL).

G4   accept rate: wrk, 64 connections, pre-signed Event invokes; every 202 is on disk.
G4b  dispatch rate: how fast the stored backlog is run (queue depth sampled over time),
     and enqueue-to-handler-start latency with warm capacity (sequential, c=1).

Usage: .venv/bin/python -m bench.bench_events [--seconds S] [--latency N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import KeepAliveClient, fmt, percentiles, run_wrk
from lambdahost.cli.client import Target, signed_get
from lambdahost.testing import ACCESS_KEY, REGION, ROLE, SECRET_KEY, LiveServer, make_zip

NOOP = "def handler(event, context):\n    return None\n"
STAMP = (
    "import time\n"
    "def handler(event, context):\n"
    "    with open(event['path'], 'a') as sink:\n"
    "        sink.write(f\"{event['sent']} {time.time()}\\n\")\n"
)


def queue_depth(target: Target) -> int:
    _, _, body = signed_get(target, "/_lambdahost/v1/event-queue")
    return int(json.loads(body)["Depth"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--latency", type=int, default=500)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lh-bench-events-"))
    server = LiveServer(data_dir=data_dir, store_url=f"sqlite:///{data_dir}/store.db")
    server.start()
    try:
        run(server, args)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def run(server: LiveServer, args: argparse.Namespace) -> None:
    lam = server.client()
    target = Target(server.endpoint, REGION, ACCESS_KEY, SECRET_KEY)
    lam.create_function(
        FunctionName="noop",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": NOOP})},
    )
    payload = b'{"k": "v"}'
    path, headers = _signed_event(server.endpoint, "noop", payload)

    summary = run_wrk(server.endpoint, path, headers, payload, 64, args.seconds)
    if summary is not None:
        print(f"G4 Event accept, durable, wrk -c64 (target >= 10000/s, p99 <= 20 ms): {summary}")
        # G4b: drain the backlog wrk left behind.
        start_depth = queue_depth(target)
        started = time.monotonic()
        samples = []
        while True:
            time.sleep(1.0)
            depth = queue_depth(target)
            samples.append(depth)
            if depth == 0 or time.monotonic() - started > 60:
                break
        elapsed = time.monotonic() - started
        done = start_depth - samples[-1]
        print(
            f"G4b dispatch (target >= 2000/s): {done / elapsed:.0f} events/s "
            f"({done} of a {start_depth}-event backlog in {elapsed:.1f} s)"
        )
    else:
        print("G4 skipped: wrk is not installed")

    # Enqueue -> handler start, warm capacity, one at a time.
    lam.create_function(
        FunctionName="stamp",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": STAMP})},
    )
    stamps = Path(tempfile.mkdtemp(prefix="lh-stamps-", dir="/var/tmp")) / "stamps.txt"
    client = KeepAliveClient(server.port)
    for _ in range(args.latency + 20):
        body = json.dumps({"path": str(stamps), "sent": time.time()}).encode()
        spath, sheaders = _signed_event(server.endpoint, "stamp", body)
        client.post(spath, sheaders, body)
        time.sleep(0.01)
    time.sleep(1.0)
    delays = [
        (float(b) - float(a)) * 1000
        for a, b in (line.split() for line in stamps.read_text().splitlines())
    ][20:]
    print(f"G4b enqueue -> handler start, warm (target p50 <= 10 ms): {fmt(percentiles(delays))}")
    shutil.rmtree(stamps.parent, ignore_errors=True)


def _signed_event(endpoint: str, function: str, body: bytes) -> tuple[str, dict[str, str]]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    path = f"/2015-03-31/functions/{function}/invocations"
    request = AWSRequest(
        method="POST", url=endpoint + path, data=body, headers={"X-Amz-Invocation-Type": "Event"}
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "lambda", REGION).add_auth(request)
    return path, {k: str(v) for k, v in request.prepare().headers.items()}


if __name__ == "__main__":
    main()
