"""Asynchronous invocation: EventInvokeConfig, retries, event age, destinations.

The session server runs with ``--retry-time-scale 0.01``: Lambda's 1 and 2 minute
retry delays become 0.6 and 1.2 s, and event ages shrink the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RECORDER = """
import json
def handler(event, context):
    with open({path!r}, 'a') as sink:
        sink.write(json.dumps(event) + '\\n')
    return {{"recorded": True}}
"""

FLAKY = """
import json
def handler(event, context):
    with open({path!r}, 'a') as sink:
        sink.write(json.dumps({{"attempt": event.get("n"), "request_id": context.aws_request_id}}) + '\\n')
    if event.get("fail"):
        raise RuntimeError("failing on purpose")
    return {{"ok": event.get("n")}}
"""


def wait_lines(path: Path, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            if len(lines) >= count:
                return lines
        time.sleep(0.05)
    return lines


def test_event_invoke_config_crud(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, Publish=True)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fname)
    put = lam.put_function_event_invoke_config(
        FunctionName=fname, MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120
    )
    assert put["FunctionArn"].endswith(f":{fname}:$LATEST")
    assert put["MaximumRetryAttempts"] == 1 and put["MaximumEventAgeInSeconds"] == 120
    assert isinstance(put["LastModified"], type(put["LastModified"]))
    updated = lam.update_function_event_invoke_config(FunctionName=fname, MaximumRetryAttempts=0)
    assert updated["MaximumRetryAttempts"] == 0 and updated["MaximumEventAgeInSeconds"] == 120
    replaced = lam.put_function_event_invoke_config(FunctionName=fname, MaximumRetryAttempts=2)
    assert "MaximumEventAgeInSeconds" not in replaced
    lam.put_function_event_invoke_config(FunctionName=fname, Qualifier="1", MaximumRetryAttempts=0)
    listed = lam.list_function_event_invoke_configs(FunctionName=fname)[
        "FunctionEventInvokeConfigs"
    ]
    assert sorted(c["FunctionArn"].rsplit(":", 1)[1] for c in listed) == ["$LATEST", "1"]
    lam.delete_function_event_invoke_config(FunctionName=fname, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fname, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(
            FunctionName=fname, Qualifier="9", MaximumRetryAttempts=0
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"MaximumRetryAttempts": 3},
        {"MaximumEventAgeInSeconds": 21601},
        {
            "DestinationConfig": {
                "OnFailure": {"Destination": "arn:aws:lambda:us-east-1:123456789012:function:nope"}
            }
        },
        {
            "DestinationConfig": {
                "OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:no-queue"}
            }
        },
        {
            "DestinationConfig": {
                "OnSuccess": {"Destination": "arn:aws:sns:us-east-1:123456789012:topic"}
            }
        },
    ],
)
def test_bad_event_invoke_config_changes_nothing(
    lam: Any, create: Callable[..., Any], fname: str, kwargs: dict[str, Any]
) -> None:
    from botocore.exceptions import ClientError

    create(fname)
    with pytest.raises(ClientError) as exc:
        lam.put_function_event_invoke_config(FunctionName=fname, **kwargs)
    assert exc.value.response["Error"]["Code"] in (
        "ValidationException",
        "InvalidParameterValueException",
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fname)


def test_retries_then_on_failure_destination(
    lam: Any, create: Callable[..., Any], fname: str, shared_dir: Path
) -> None:
    attempts = shared_dir / "attempts.jsonl"
    failures = shared_dir / "failures.jsonl"
    create(fname + "-dest", files={"app.py": RECORDER.format(path=str(failures))})
    create(fname, files={"app.py": FLAKY.format(path=str(attempts))})
    dest_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{fname}-dest"
    lam.put_function_event_invoke_config(
        FunctionName=fname,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": dest_arn}},
    )
    started = time.monotonic()
    out = lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"n": 1, "fail": true}')
    request_id = out["ResponseMetadata"]["RequestId"]
    records = wait_lines(failures, 1)
    assert len(wait_lines(attempts, 3)) == 3, "the first attempt plus two retries"
    assert all(a["request_id"] == request_id for a in wait_lines(attempts, 3))
    assert time.monotonic() - started >= 1.5, "retries wait ~0.6 s then ~1.2 s at this time scale"
    record = records[0]
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestPayload"] == {"n": 1, "fail": True}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "failing on purpose"


def test_on_success_destination_and_no_retry_setting(
    lam: Any, create: Callable[..., Any], fname: str, shared_dir: Path
) -> None:
    attempts = shared_dir / "attempts.jsonl"
    successes = shared_dir / "successes.jsonl"
    create(fname + "-ok", files={"app.py": RECORDER.format(path=str(successes))})
    create(fname, files={"app.py": FLAKY.format(path=str(attempts))})
    lam.put_function_event_invoke_config(
        FunctionName=fname,
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnSuccess": {
                "Destination": f"arn:aws:lambda:us-east-1:123456789012:function:{fname}-ok"
            }
        },
    )
    lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"n": 7}')
    lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"n": 8, "fail": true}')
    record = wait_lines(successes, 1)[0]
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"] == {"ok": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    time.sleep(1.5)
    assert sorted(a["attempt"] for a in wait_lines(attempts, 2)) == [7, 8], (
        "no retry with MaximumRetryAttempts=0"
    )


def test_event_age_exceeded(
    lam: Any, create: Callable[..., Any], fname: str, shared_dir: Path
) -> None:
    attempts = shared_dir / "attempts.jsonl"
    failures = shared_dir / "failures.jsonl"
    create(fname + "-dest", files={"app.py": RECORDER.format(path=str(failures))})
    create(fname, files={"app.py": FLAKY.format(path=str(attempts))})
    lam.put_function_event_invoke_config(
        FunctionName=fname,
        MaximumRetryAttempts=2,
        MaximumEventAgeInSeconds=60,
        DestinationConfig={
            "OnFailure": {
                "Destination": f"arn:aws:lambda:us-east-1:123456789012:function:{fname}-dest"
            }
        },
    )
    lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"n": 3, "fail": true}')
    record = wait_lines(failures, 1)[0]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert len(wait_lines(attempts, 1)) == 1
