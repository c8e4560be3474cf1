"""Fixtures for event-source-mapping tests: live servers, clients, queues, a recording function."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdahost.testing import ROLE, LiveServer, make_zip
from tests.integration.conftest import lam, server, shared_dir  # noqa: F401  (re-exported)

# Each invocation writes its event (and start/end times) to its own file under RECORD_DIR.
# Bodies starting with "bad" are reported as batch item failures; MODE changes the outcome:
# "raise" fails the invocation, "bogus" reports an unknown itemIdentifier.
RECORDER = """
import json, os, time
def handler(event, context):
    started = time.time()
    time.sleep(float(os.environ.get("SLEEP", "0")))
    out = {"start": started, "end": time.time(), "records": event["Records"]}
    path = os.path.join(os.environ["RECORD_DIR"], context.aws_request_id + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f)
    os.rename(path + ".tmp", path)
    mode = os.environ.get("MODE", "ok")
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "bogus":
        return {"batchItemFailures": [{"itemIdentifier": "no-such-message"}]}
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"].startswith("bad")
    ]}
"""


@pytest.fixture
def sqs(server: LiveServer) -> Any:  # noqa: F811
    return server.client("sqs")


@pytest.fixture
def new_queue(sqs: Any) -> Callable[..., tuple[str, str]]:
    """Create a uniquely named queue; return (url, arn)."""

    def make(prefix: str = "q", fifo: bool = False, **attributes: str) -> tuple[str, str]:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
        if fifo:
            attributes.setdefault("FifoQueue", "true")
        url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, str(arn)

    return make


@pytest.fixture
def recorder(lam: Any, shared_dir: Path) -> Callable[..., str]:  # noqa: F811
    """Create a recording function; return its name."""

    def make(mode: str = "ok", sleep: float = 0.0, timeout: int = 3) -> str:
        name = f"rec-{uuid.uuid4().hex[:10]}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip({"app.py": RECORDER})},
            Timeout=timeout,
            Environment={
                "Variables": {"RECORD_DIR": str(shared_dir), "MODE": mode, "SLEEP": str(sleep)}
            },
        )
        return name

    return make


def invocations(directory: Path) -> list[dict[str, Any]]:
    """Every recorded invocation, in start order."""
    found = [json.loads(p.read_text()) for p in directory.glob("*.json")]
    return sorted(found, key=lambda i: i["start"])


def bodies(directory: Path) -> list[str]:
    return [r["body"] for i in invocations(directory) for r in i["records"]]


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {check}")
        time.sleep(interval)


def wait_state(client: Any, uuid_: str, state: str, timeout: float = 5.0) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        mapping: dict[str, Any] = client.get_event_source_mapping(UUID=uuid_)
        return mapping if mapping["State"] == state else None

    result: dict[str, Any] = wait_for(current, timeout)
    return result


def queue_depth(sqs: Any, url: str) -> int:
    values = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(values["ApproximateNumberOfMessages"]) + int(
        values["ApproximateNumberOfMessagesNotVisible"]
    )


def drain(sqs: Any, url: str, expected: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Receive (and delete) until ``expected`` messages were seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(seen) < expected and time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        )
        for message in got.get("Messages", []):
            seen.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen
