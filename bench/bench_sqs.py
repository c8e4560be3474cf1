"""SQS throughput over HTTP against a live server (SigV4 on, JSON protocol).

S1  SendMessage: C keep-alive connections each sending one pre-signed request in a loop
    (the signature covers the body, so the same signed request is reused).
S1w the same request driven by wrk (64 connections), when wrk is installed: the server's
    capacity without the Python client competing for the CPUs.
S2  SendMessageBatch (10 messages per request), same way.
S3  ReceiveMessage (up to 10, pre-signed) + DeleteMessageBatch (signed as it goes) until the
    queue is drained: messages received and deleted per second.
S4  single-connection SendMessage latency (c=1).

The client is a small asyncio HTTP/1.1 client, so boto3's per-call overhead does not cap the
numbers; client and server share the machine's CPUs.

Usage: .venv/bin/python -m bench.bench_sqs [--messages N] [--connections C] [--seconds S] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import fmt, percentiles, run_wrk
from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY, LiveServer

Signed = tuple[str, dict[str, str], bytes]


def signed(endpoint: str, operation: str, params: dict[str, Any]) -> Signed:
    """Path, headers and body of an SQS JSON request signed now (valid for 15 minutes)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps(params).encode()
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AmazonSQS.{operation}",
        },
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sqs", REGION).add_auth(request)
    return "/", {k: str(v) for k, v in request.prepare().headers.items()}, body


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: Signed) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        path, headers, body = request
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n" + "".join(
            f"{k}: {v}\r\n"
            for k, v in headers.items()
            if k.lower() not in ("content-length", "host")
        )
        self.writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def hammer(
    port: int, connections: int, total: int, make: Callable[[], Signed], per_request: int
) -> tuple[float, list[float]]:
    """Send ``total`` messages as requests of ``per_request`` messages over ``connections``."""
    remaining = [total // per_request]
    latencies: list[float] = []
    request = make()

    async def worker() -> None:
        conn = Connection(port)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                started = time.perf_counter()
                status, body = await conn.post(request)
                latencies.append((time.perf_counter() - started) * 1000)
                assert status == 200, body
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, latencies


async def drain(
    endpoint: str, port: int, url: str, connections: int, total: int
) -> tuple[float, list[float], list[float]]:
    """Receive + DeleteMessageBatch until ``total`` messages were deleted."""
    receive = signed(endpoint, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10})
    done = [0]
    receive_ms: list[float] = []
    delete_ms: list[float] = []

    async def worker() -> None:
        conn = Connection(port)
        try:
            while done[0] < total:
                started = time.perf_counter()
                status, body = await conn.post(receive)
                receive_ms.append((time.perf_counter() - started) * 1000)
                assert status == 200, body
                messages = json.loads(body).get("Messages", [])
                if not messages:
                    continue
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ]
                delete = signed(
                    endpoint, "DeleteMessageBatch", {"QueueUrl": url, "Entries": entries}
                )
                started = time.perf_counter()
                status, body = await conn.post(delete)
                delete_ms.append((time.perf_counter() - started) * 1000)
                assert status == 200 and not json.loads(body)["Failed"], body
                done[0] += len(messages)
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, receive_ms, delete_ms


def depth(sqs: Any, url: str) -> int:
    values = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(values["ApproximateNumberOfMessages"]) + int(
        values["ApproximateNumberOfMessagesNotVisible"]
    )


def run(server: LiveServer, messages: int, connections: int, seconds: int) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="bench", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    endpoint, port = server.endpoint, server.port
    print(
        f"machine: {os.cpu_count()} CPUs; server and client share them; store: {server.store_url.split('?')[0]}"
    )

    send = signed(endpoint, "SendMessage", {"QueueUrl": url, "MessageBody": "x" * 256})
    asyncio.run(hammer(port, connections, 500, lambda: send, 1))  # warm up
    elapsed, latencies = asyncio.run(hammer(port, connections, messages, lambda: send, 1))
    print(
        f"S1 SendMessage, c={connections}: {messages / elapsed:,.0f} msgs/s; "
        f"latency {fmt(percentiles(latencies))}"
    )

    summary = run_wrk(endpoint, *send, 64, seconds)
    if summary is None:
        print("S1w skipped: wrk is not installed (apt-get install wrk)")
    else:
        print(f"S1w SendMessage, wrk -t1 -c64 for {seconds} s: {summary}")

    entries = [{"Id": str(i), "MessageBody": "x" * 256} for i in range(10)]
    batch = signed(endpoint, "SendMessageBatch", {"QueueUrl": url, "Entries": entries})
    elapsed, latencies = asyncio.run(hammer(port, connections, messages, lambda: batch, 10))
    print(
        f"S2 SendMessageBatch x10, c={connections}: {messages / elapsed:,.0f} msgs/s; "
        f"request latency {fmt(percentiles(latencies))}"
    )

    total = depth(sqs, url)
    elapsed, receive_ms, delete_ms = asyncio.run(drain(endpoint, port, url, connections, total))
    print(
        f"S3 ReceiveMessage x10 + DeleteMessageBatch, c={connections}: {total / elapsed:,.0f} "
        f"msgs/s ({total} messages)\n    receive {fmt(percentiles(receive_ms))}\n"
        f"    delete  {fmt(percentiles(delete_ms))}"
    )
    assert depth(sqs, url) == 0

    elapsed, latencies = asyncio.run(hammer(port, 1, min(messages, 3000), lambda: send, 1))
    print(
        f"S4 SendMessage, c=1: {min(messages, 3000) / elapsed:,.0f} msgs/s; "
        f"latency {fmt(percentiles(latencies))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=5, help="duration of the wrk run")
    parser.add_argument("--postgres", action="store_true", help="use the test PostgreSQL server")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lh-bench-sqs-"))
    url = f"sqlite:///{data_dir}/store.db"
    schema_url = None
    if args.postgres:
        from tests.conftest import fresh_pg_url

        url = schema_url = fresh_pg_url()
    server = LiveServer(data_dir=data_dir, store_url=url)
    server.start()
    try:
        run(server, args.messages, args.connections, args.seconds)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        if schema_url is not None:
            from tests.conftest import drop_pg_schema

            drop_pg_schema(schema_url)


if __name__ == "__main__":
    main()
