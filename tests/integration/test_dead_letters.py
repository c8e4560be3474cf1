"""Failed Event invocations end up somewhere visible: the DLQ, an on-failure queue, and back via redrive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambdahost.testing import ACCESS_KEY, SECRET_KEY, LiveServer

FAIL = "def handler(event, context):\n    raise RuntimeError('broken: ' + str(event.get('n')))\n"


def receive_all(sqs: Any, url: str, expected: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < expected:
        for message in sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
        ).get("Messages", []):
            found[message["MessageId"]] = message
    return list(found.values())


def test_dlq_and_on_failure_queue(
    server: LiveServer, lam: Any, create: Callable[..., Any], fname: str
) -> None:
    sqs = server.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{fname}-dlq")["QueueUrl"]
    dest_url = sqs.create_queue(QueueName=f"{fname}-failures")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    dest_arn = sqs.get_queue_attributes(QueueUrl=dest_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    create(fname, files={"app.py": FAIL}, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(
        FunctionName=fname,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": dest_arn}},
    )
    request_id = lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"n": 1}')[
        "ResponseMetadata"
    ]["RequestId"]
    dead = receive_all(sqs, dlq_url, 1)
    assert len(dead) == 1
    assert json.loads(dead[0]["Body"]) == {"n": 1}, "the DLQ gets the original event"
    attributes = dead[0]["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == request_id
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert attributes["ErrorMessage"]["StringValue"] == "broken: 1"
    records = receive_all(sqs, dest_url, 1)
    record = json.loads(records[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"n": 1}


def test_missing_dlq_is_refused(lam: Any, create: Callable[..., Any], fname: str) -> None:
    from botocore.exceptions import ClientError

    try:
        create(
            fname,
            DeadLetterConfig={"TargetArn": "arn:aws:sqs:us-east-1:123456789012:no-such-queue"},
        )
    except ClientError as error:
        assert error.response["Error"]["Code"] == "InvalidParameterValueException"
    else:
        raise AssertionError("a DLQ that does not exist must be refused")
    import pytest

    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)


def test_cli_shows_and_redrives_dead_letters(
    server: LiveServer, lam: Any, create: Callable[..., Any], fname: str, shared_dir: Path
) -> None:
    sqs = server.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{fname}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    flag = shared_dir / "fixed"
    done = shared_dir / "done.txt"
    source = (
        "import json, os\n"
        "def handler(event, context):\n"
        f"    if not os.path.exists({str(flag)!r}):\n"
        "        raise RuntimeError('not yet')\n"
        f"    open({str(done)!r}, 'a').write(json.dumps(event) + '\\n')\n"
    )
    create(fname, files={"app.py": source}, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(FunctionName=fname, MaximumRetryAttempts=0)
    for n in range(3):
        lam.invoke(
            FunctionName=fname, InvocationType="Event", Payload=json.dumps({"n": n}).encode()
        )
    deadline = time.monotonic() + 20
    env = dict(
        os.environ,
        LAMBDAHOST_ENDPOINT=server.endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
    )
    shown = ""
    while time.monotonic() < deadline:
        depth = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        if int(depth["Attributes"]["ApproximateNumberOfMessages"]) == 3:
            break
        time.sleep(0.1)
    shown = subprocess.run(
        [sys.executable, "-m", "lambdahost.cli.main", "dlq", fname],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert f"{dlq_arn}: 3 messages" in shown and "not yet" in shown
    flag.write_text("ok")
    redriven = subprocess.run(
        [sys.executable, "-m", "lambdahost.cli.main", "redrive", fname],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert redriven.stdout.strip() == f"redrove 3 events to {fname}", redriven.stderr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        not done.exists() or len(done.read_text().splitlines()) < 3
    ):
        time.sleep(0.1)
    assert sorted(json.loads(line)["n"] for line in done.read_text().splitlines()) == [0, 1, 2]
