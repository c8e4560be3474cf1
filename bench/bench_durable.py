"""Durable-function benchmarks against a live server (SigV4 on, functions in the sandbox).

G5  checkpoint latency: CheckpointDurableExecution measured client-side, over HTTP, from
    inside a running invocation (the only place a valid token exists); each call carries a
    STEP START+SUCCEED, is fsync'd before its answer, and chains the token. Raw HTTP
    (signed per call, like the SDK) and boto3; plus throughput with executions in parallel.
S1  a 1,000-step execution end to end (unmodified SDK, sync Invoke).
S2  N executions suspended at once (each in a 1-hour wait): time to suspend them all,
    processes and server memory afterwards (no process per execution).
S3  timer delay: from a wait's ScheduledEndTimestamp to the handler running again.

Usage: .venv/bin/python -m bench.bench_durable [--checkpoints N] [--steps N] [--suspend N]
       [--timers N] [--store-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import fmt, percentiles
from lambdahost.store import open_store
from lambdahost.testing import ROLE, LiveServer, make_zip

CHECKPOINTER = """
import json, os, time, http.client, urllib.parse
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

def updates(i):
    base = {"Id": f"r{i}", "Type": "STEP", "SubType": "Step", "Name": "s"}
    return [dict(base, Action="START"), dict(base, Action="SUCCEED", Payload=str(i))]

def handler(event, context):
    arn, token = event["DurableExecutionArn"], event["CheckpointToken"]
    ops = event["InitialExecutionState"]["Operations"]
    n = json.loads(ops[0]["ExecutionDetails"]["InputPayload"])["n"]
    url = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
    signer = SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"],
                                   os.environ["AWS_SECRET_ACCESS_KEY"]), "lambda",
                       os.environ["AWS_REGION"])
    conn = http.client.HTTPConnection(url.hostname, url.port)
    path = "/2025-12-01/durable-executions/" + urllib.parse.quote(arn, safe="") + "/checkpoint"
    raw, wire = [], []
    started = time.time()
    for i in range(n):
        body = json.dumps({"CheckpointToken": token, "Updates": updates(i)}).encode()
        t0 = time.perf_counter()
        request = AWSRequest(method="POST", url=url.geturl() + path, data=body,
                             headers={"Content-Type": "application/json"})
        signer.add_auth(request)
        t1 = time.perf_counter()
        conn.request("POST", path, body=body, headers=dict(request.headers.items()))
        reply = conn.getresponse()
        data = reply.read()
        t2 = time.perf_counter()
        assert reply.status == 200, data
        raw.append((t2 - t0) * 1000)
        wire.append((t2 - t1) * 1000)
        token = json.loads(data)["CheckpointToken"]
    finished = time.time()
    client = boto3.client("lambda")
    b3 = []
    for i in range(n, n + max(1, n // 4)):
        t0 = time.perf_counter()
        out = client.checkpoint_durable_execution(
            DurableExecutionArn=arn, CheckpointToken=token, Updates=updates(i))
        b3.append((time.perf_counter() - t0) * 1000)
        token = out["CheckpointToken"]
    result = {"raw": raw, "wire": wire, "boto3": b3, "start": started, "end": finished}
    return {"Status": "SUCCEEDED", "Result": json.dumps(result)}
"""

SDK_PRELUDE = """
import time
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration
"""

MANY_STEPS = (
    SDK_PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    total = 0
    for i in range(event["n"]):
        total += context.step(lambda _, i=i: i, name=f"s{i}")
    return total
"""
)

LONG_WAIT = (
    SDK_PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    context.wait(Duration.from_seconds(3600))
    return "late"
"""
)

TIMER = (
    SDK_PRELUDE
    + """
@durable_execution
def handler(event, context: DurableContext):
    context.wait(Duration.from_seconds(1), name="tick")
    return context.step(lambda _: time.time(), name="resumed")
"""
)


def create(lam: Any, name: str, source: str, durable: bool = True) -> None:
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Timeout": 300,
        "MemorySize": 512,
        "Code": {"ZipFile": make_zip({"app.py": source})},
    }
    if durable:
        params["DurableConfig"] = {"ExecutionTimeout": 86_400, "RetentionPeriodInDays": 1}
    lam.create_function(**params)


def sync(lam: Any, name: str, payload: Any) -> tuple[dict[str, Any], bytes]:
    reply = lam.invoke(FunctionName=name, Qualifier="$LATEST", Payload=json.dumps(payload).encode())
    return reply, reply["Payload"].read()


def bench_checkpoints(server: LiveServer, n: int, parallel: int) -> None:
    lam = server.client()
    create(lam, "ckpt", CHECKPOINTER)
    sync(lam, "ckpt", {"n": 50})  # warm the environment and the server's code paths
    reply, body = sync(lam, "ckpt", {"n": n})
    assert "FunctionError" not in reply, body
    result = json.loads(body)
    print(
        f"G5 checkpoint, raw HTTP + SigV4 signing (client-side): {fmt(percentiles(result['raw']))}"
    )
    print(
        f"   of which on the wire (send -> answer):               {fmt(percentiles(result['wire']))}"
    )
    print(
        f"   boto3 client (what the SDK uses):                    {fmt(percentiles(result['boto3']))}"
    )
    lams = [server.client() for _ in range(parallel)]
    outs: list[dict[str, Any]] = [{} for _ in range(parallel)]

    def one(index: int) -> None:
        _, raw = sync(lams[index], "ckpt", {"n": n})
        outs[index] = json.loads(raw)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    begin = min(o["start"] for o in outs)
    end = max(o["end"] for o in outs)
    samples = [s for o in outs for s in o["raw"]]
    print(
        f"G5 {parallel} executions checkpointing at once: {parallel * n / (end - begin):,.0f} "
        f"checkpoints/s, latency {fmt(percentiles(samples))}"
    )


def bench_steps(server: LiveServer, steps: int) -> None:
    lam = server.client()
    create(lam, "steps", MANY_STEPS)
    sync(lam, "steps", {"n": 5})
    started = time.perf_counter()
    reply, body = sync(lam, "steps", {"n": steps})
    elapsed = time.perf_counter() - started
    assert json.loads(body) == steps * (steps - 1) // 2, body
    events = lam.get_durable_execution_history(
        DurableExecutionArn=reply["DurableExecutionArn"], MaxItems=1000
    )
    print(
        f"S1 {steps}-step execution end to end (unmodified SDK): {elapsed:.2f} s "
        f"({elapsed / steps * 1000:.2f} ms per step; history page of {len(events['Events'])} events)"
    )


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_suspended(server: LiveServer, count: int) -> None:
    lam = server.client()
    create(lam, "sleepy", LONG_WAIT)
    local = threading.local()

    def start(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = server.client()
        local.client.invoke(
            FunctionName="sleepy", Qualifier="$LATEST", InvocationType="Event", Payload=b"{}"
        )

    store = open_store(server.store_url)
    began = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(start, range(count)))
    accepted = time.perf_counter() - began
    suspended = 0
    while suspended < count:
        time.sleep(0.5)
        suspended = int(
            store.db.execute(
                "SELECT COUNT(*) FROM durable_executions WHERE function_name = ? AND status = ?"
                " AND invoke_wanted = 0",
                ("sleepy", "RUNNING"),
            )[0][0]
        )
    elapsed = time.perf_counter() - began
    timers = int(store.db.execute("SELECT COUNT(*) FROM durable_timers")[0][0])
    store.close()
    assert server.process is not None
    pid = server.process.pid
    procs = descendants(pid)
    print(
        f"S2 {count:,} executions suspended at once: Event accepted in {accepted:.1f} s "
        f"({count / accepted:,.0f}/s); all suspended after {elapsed:.1f} s "
        f"({count / elapsed:,.0f} executions/s)"
    )
    print(
        f"   afterwards: {len(procs)} processes under the server (sandbox pool, not one per "
        f"execution), server RSS {rss_mb(pid):.0f} MB, {timers:,} stored timers"
    )


def bench_timers(server: LiveServer, samples: int) -> None:
    lam = server.client()
    create(lam, "timer", TIMER)
    sync(lam, "timer", {})
    delays = []
    for _ in range(samples):
        reply, body = sync(lam, "timer", {})
        resumed = float(json.loads(body))
        events = lam.get_durable_execution_history(DurableExecutionArn=reply["DurableExecutionArn"])
        wait = next(e for e in events["Events"] if e["EventType"] == "WaitStarted")
        due = wait["WaitStartedDetails"]["ScheduledEndTimestamp"].timestamp()
        delays.append((resumed - due) * 1000)
    print(f"S3 timer due -> handler code running again: {fmt(percentiles(delays))}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoints", type=int, default=2000)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--suspend", type=int, default=10_000)
    parser.add_argument("--timers", type=int, default=20)
    parser.add_argument("--store-url", default=None)
    parser.add_argument(
        "--only", choices=("checkpoints", "steps", "timers", "suspend"), default=None
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lh-bench-durable-"))
    server = LiveServer(
        data_dir=data_dir,
        store_url=args.store_url or f"sqlite:///{data_dir}/store.db",
        extra_args=("--idle-timeout", "600"),
    )
    server.start()
    print(
        f"machine: {os.cpu_count()} CPUs shared by server, functions and client; "
        f"store {server.store_url.split('?')[0]}"
    )
    try:
        if args.only in (None, "checkpoints"):
            bench_checkpoints(server, args.checkpoints, args.parallel)
        if args.only in (None, "steps"):
            bench_steps(server, args.steps)
        if args.only in (None, "timers"):
            bench_timers(server, args.timers)
        if args.only in (None, "suspend") and args.suspend:
            bench_suspended(server, args.suspend)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
