"""Each SDK primitive on its own, with real handlers, through a live server (both stores)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.durable import handlers as H
from tests.durable.conftest import (
    create_durable,
    event_types,
    read_evidence,
    start,
    wait_evidence,
    wait_for,
)


def _invoke(lam: Any, name: str, payload: Any, qualifier: str = "$LATEST") -> dict[str, Any]:
    reply = lam.invoke(FunctionName=name, Qualifier=qualifier, Payload=json.dumps(payload).encode())
    reply["Body"] = reply["Payload"].read()
    return dict(reply)


def test_steps_and_a_wait_across_a_real_suspension(
    lam: Any, make_fn: Callable[..., str], evidence: Path
) -> None:
    name = make_fn(H.STEPS_AND_WAIT)
    reply = _invoke(lam, name, {"a": 1})
    assert reply["StatusCode"] == 200
    assert "FunctionError" not in reply
    assert json.loads(reply["Body"]) == {"x": 2, "y": 12}
    arn = reply["DurableExecutionArn"]
    assert read_evidence(evidence) == ["add 1 1", "add 2 10"]
    assert event_types(lam, arn) == [
        "ExecutionStarted",
        "StepStarted",
        "StepSucceeded",
        "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "StepStarted",
        "StepSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    # Two invocations, no process held in between: the wait was a stored timer.
    logs = [e for e in event_types(lam, arn) if e == "InvocationCompleted"]
    assert len(logs) == 2


def test_step_retries_follow_the_retry_strategy(
    lam: Any, make_fn: Callable[..., str], evidence: Path
) -> None:
    name = make_fn(H.RETRY)
    reply = _invoke(lam, name, {})
    assert json.loads(reply["Body"]) == {"attempts": 3}
    assert read_evidence(evidence) == ["attempt 1", "attempt 2", "attempt 3"]
    events = [
        e
        for e in lam.get_durable_execution_history(
            DurableExecutionArn=reply["DurableExecutionArn"]
        )["Events"]
        if e["EventType"] in ("StepFailed", "StepSucceeded")
    ]
    assert [e["EventType"] for e in events] == ["StepFailed", "StepFailed", "StepSucceeded"]
    assert [e[f"{e['EventType']}Details"]["RetryDetails"]["CurrentAttempt"] for e in events] == [
        1,
        2,
        3,
    ]


def test_exhausted_retries_fail_the_execution(lam: Any, make_fn: Callable[..., str]) -> None:
    name = make_fn(H.RETRY_EXHAUSTED)
    reply = _invoke(lam, name, {})
    assert reply["FunctionError"] == "Unhandled"
    body = json.loads(reply["Body"])
    assert body["errorType"] == "aws_durable_execution_sdk_python.exceptions.StepError"
    assert body["errorMessage"] == "never works"
    found = lam.get_durable_execution(DurableExecutionArn=reply["DurableExecutionArn"])
    assert found["Status"] == "FAILED"


def test_callback_success_from_another_client(
    server: Any, lam: Any, make_fn: Callable[..., str], evidence: Path
) -> None:
    name = make_fn(H.CALLBACK)
    arn = start(lam, name, {"timeout": 60})
    (line,) = wait_evidence(evidence, "callback ")
    callback_id = line.split()[1]
    assert wait_for(lam, arn, ("RUNNING",))["Status"] == "RUNNING"
    other = server.client()
    other.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
    other.send_durable_execution_callback_success(CallbackId=callback_id, Result=b'"approved"')
    found = wait_for(lam, arn)
    assert found["Status"] == "SUCCEEDED"
    assert json.loads(found["Result"]) == {"answer": '"approved"'}
    error = _client_error(
        lambda: other.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"1")
    )
    assert error["Code"] == "CallbackTimeoutException"
    assert (
        _client_error(
            lambda: other.send_durable_execution_callback_success(CallbackId="nope", Result=b"1")
        )["Code"]
        == "ResourceNotFoundException"
    )


def test_wait_for_callback_failure_surfaces_as_the_sdk_error(
    server: Any, lam: Any, make_fn: Callable[..., str], evidence: Path
) -> None:
    name = make_fn(H.WAIT_FOR_CALLBACK)
    arn = start(lam, name, {})
    (line,) = wait_evidence(evidence, "callback ")
    server.client().send_durable_execution_callback_failure(
        CallbackId=line.split()[1],
        Error={"ErrorMessage": "manager said no", "ErrorType": "Rejected"},
    )
    found = wait_for(lam, arn)
    assert found["Status"] == "FAILED"
    assert found["Error"]["ErrorMessage"] == "manager said no"
    assert found["Error"]["ErrorType"].endswith("CallbackExternalError")


def test_callback_heartbeat_timeout(lam: Any, make_fn: Callable[..., str], evidence: Path) -> None:
    name = make_fn(H.CALLBACK)
    arn = start(lam, name, {"timeout": 60, "heartbeat": 1})
    found = wait_for(lam, arn, timeout=20)
    assert found["Status"] == "SUCCEEDED"
    result = json.loads(found["Result"])
    assert result["error"] == "CallbackTimeoutError"
    assert "CallbackTimedOut" in event_types(lam, arn)


def test_chained_invoke_of_a_durable_function(lam: Any, make_fn: Callable[..., str]) -> None:
    target = make_fn(H.CHILD_TARGET)
    lam.publish_version(FunctionName=target)
    parent = make_fn(H.CHILD)
    reply = _invoke(lam, parent, {"target": f"{target}:1", "n": 5})
    assert json.loads(reply["Body"]) == {"child": 11}
    events = lam.get_durable_execution_history(DurableExecutionArn=reply["DurableExecutionArn"])
    started = next(e for e in events["Events"] if e["EventType"] == "ChainedInvokeStarted")
    child_arn = started["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
    assert f"function:{target}:1/durable-execution/" in child_arn
    assert lam.get_durable_execution(DurableExecutionArn=child_arn)["Status"] == "SUCCEEDED"
    failed = _invoke(lam, parent, {"target": f"{target}:1", "n": -1})
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Body"]) == {
        "errorType": "aws_durable_execution_sdk_python.exceptions.InvokeError",
        "errorMessage": "negative input",
    }


def test_chained_invoke_of_a_plain_function(lam: Any, make_fn: Callable[..., str]) -> None:
    plain = create_durable(lam, H.PLAIN_TARGET, durable=False)
    parent = make_fn(H.CHILD)
    assert json.loads(_invoke(lam, parent, {"target": plain, "n": 5})["Body"]) == {
        "child": {"plain": 15}
    }
    refused = json.loads(_invoke(lam, parent, {"target": plain, "n": -5})["Body"])
    assert refused["errorMessage"] == "plain target refuses negatives"
    missing = json.loads(_invoke(lam, parent, {"target": "no-such-function", "n": 1})["Body"])
    assert missing["errorMessage"].startswith("Function not found")


def test_map_and_parallel_with_failures(lam: Any, make_fn: Callable[..., str]) -> None:
    name = make_fn(H.MAP_AND_PARALLEL)
    reply = _invoke(lam, name, {"items": [1, 2, 3, 4], "bad": 3})
    assert json.loads(reply["Body"]) == {
        "map_ok": [2, 4, 8],
        "map_errors": ["bad item 3"],
        "parallel_ok": ["a", "b"],
        "parallel_errors": ["branch c fails"],
    }


def test_child_context_and_wait_for_condition(
    lam: Any, make_fn: Callable[..., str], evidence: Path
) -> None:
    name = make_fn(H.CHILD_CONTEXT_AND_CONDITION)
    reply = _invoke(lam, name, {"base": 1})
    assert json.loads(reply["Body"]) == {"nested": 20, "polled": 3}
    assert read_evidence(evidence) == ["poll 0", "poll 1", "poll 2"]


def test_a_crashed_invocation_is_retried(
    lam: Any, make_fn: Callable[..., str], evidence: Path
) -> None:
    name = make_fn(H.CRASH_ONCE)
    reply = _invoke(lam, name, {})
    assert json.loads(reply["Body"]) == "ok"
    assert read_evidence(evidence) == ["first"]
    completed = [
        e
        for e in lam.get_durable_execution_history(
            DurableExecutionArn=reply["DurableExecutionArn"]
        )["Events"]
        if e["EventType"] == "InvocationCompleted"
    ]
    assert "Error" in completed[0]["InvocationCompletedDetails"]
    assert "Error" not in completed[-1]["InvocationCompletedDetails"]


def test_a_log_larger_than_one_event_is_paged_to_the_sdk(
    lam: Any, make_fn: Callable[..., str]
) -> None:
    # 24 step results of 250,000 bytes: the replay event would exceed the 5 MiB page, so the
    # SDK fetches the rest with GetDurableExecutionState before replaying.
    name = make_fn(H.LARGE_HISTORY, timeout=60)
    reply = _invoke(lam, name, {"size": 250_000, "count": 24})
    assert json.loads(reply["Body"]) == {"total": 6_000_000, "steps": 24}


def _client_error(call: Callable[[], Any]) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        return dict(exc.response["Error"])
    raise AssertionError("expected a ClientError")
