"""The durable-execution API surface with boto3: Invoke rules, inspection, control, bad input."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.durable import handlers as H
from tests.durable.conftest import create_durable, history, start, wait_evidence, wait_for


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        call()
    return dict(exc.value.response["Error"])


def test_unqualified_invoke_is_refused_and_aliases_resolve(
    lam: Any, make_fn: Callable[..., str]
) -> None:
    name = make_fn(H.STEPS_AND_WAIT)
    error = _error(lambda: lam.invoke(FunctionName=name, Payload=b"{}"))
    assert error == {
        "Code": "InvalidParameterValueException",
        "Message": "You cannot invoke a durable function using an unqualified ARN.",
    }
    version = lam.publish_version(FunctionName=name)
    assert version["DurableConfig"] == {"ExecutionTimeout": 300, "RetentionPeriodInDays": 1}
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version["Version"])
    reply = lam.invoke(
        FunctionName=f"{name}:live", Payload=b'{"a": 1, "wait": 1}', InvocationType="Event"
    )
    assert reply["StatusCode"] == 202
    arn = reply["DurableExecutionArn"]
    assert f"function:{name}:1/durable-execution/" in arn
    assert reply["ExecutedVersion"] == "1"
    assert (
        lam.invoke(FunctionName=name, Qualifier="1", InvocationType="DryRun")["StatusCode"] == 204
    )
    found = wait_for(lam, arn)
    assert found["Status"] == "SUCCEEDED"
    assert found["Version"] == "1"
    assert found["FunctionArn"].endswith(f":function:{name}:1")
    assert found["DurableExecutionArn"].split("/")[-1] != found["DurableExecutionName"]


def test_execution_name_is_an_idempotency_key(lam: Any, make_fn: Callable[..., str]) -> None:
    name = make_fn(H.STEPS_AND_WAIT)
    run = f"order-{uuid.uuid4().hex[:8]}"
    first = start(lam, name, {"a": 1}, DurableExecutionName=run)
    again = start(lam, name, {"a": 1}, DurableExecutionName=run)
    assert first == again
    assert f"/durable-execution/{run}/" in first
    error = _error(
        lambda: lam.invoke(
            FunctionName=name,
            Qualifier="$LATEST",
            Payload=b'{"a": 2}',
            DurableExecutionName=run,
        )
    )
    assert error["Code"] == "DurableExecutionAlreadyStartedException"
    assert wait_for(lam, first)["Status"] == "SUCCEEDED"
    sync = lam.invoke(
        FunctionName=name, Qualifier="$LATEST", Payload=b'{"a": 1}', DurableExecutionName=run
    )
    assert json.loads(sync["Payload"].read()) == {"x": 2, "y": 12}
    bad = _error(
        lambda: lam.invoke(FunctionName=name, Qualifier="$LATEST", DurableExecutionName="a b")
    )
    assert bad["Code"] == "ValidationException"


def test_list_get_and_history(lam: Any, make_fn: Callable[..., str]) -> None:
    name = make_fn(H.STEPS_AND_WAIT)
    arns = [start(lam, name, {"a": i, "wait": 1}) for i in range(3)]
    for arn in arns:
        wait_for(lam, arn)
    listed = lam.list_durable_executions_by_function(FunctionName=name)["DurableExecutions"]
    assert [e["DurableExecutionArn"] for e in listed] == list(reversed(arns))
    assert {e["Status"] for e in listed} == {"SUCCEEDED"}
    oldest = lam.list_durable_executions_by_function(FunctionName=name, ReverseOrder=True)
    assert [e["DurableExecutionArn"] for e in oldest["DurableExecutions"]] == arns
    page = lam.list_durable_executions_by_function(FunctionName=name, MaxItems=2)
    assert len(page["DurableExecutions"]) == 2 and page["NextMarker"]
    rest = lam.list_durable_executions_by_function(
        FunctionName=name, MaxItems=2, Marker=page["NextMarker"]
    )
    assert [e["DurableExecutionArn"] for e in rest["DurableExecutions"]] == [arns[0]]
    none = lam.list_durable_executions_by_function(FunctionName=name, Statuses=["RUNNING"])
    assert none["DurableExecutions"] == []
    later = datetime.now(UTC) + timedelta(hours=1)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert (
        lam.list_durable_executions_by_function(FunctionName=name, StartedAfter=later)[
            "DurableExecutions"
        ]
        == []
    )
    window = lam.list_durable_executions_by_function(
        FunctionName=name, StartedAfter=earlier, StartedBefore=later
    )
    assert len(window["DurableExecutions"]) == 3
    missing = _error(lambda: lam.list_durable_executions_by_function(FunctionName="nope-fn"))
    assert missing["Code"] == "ResourceNotFoundException"

    compact = lam.get_durable_execution(DurableExecutionArn=arns[1], IncludeExecutionData=False)
    assert compact["ExecutionDataIncluded"] is False
    assert "InputPayload" not in compact and "Result" not in compact
    full = lam.get_durable_execution(DurableExecutionArn=arns[1])
    assert full["InputPayload"] == '{"a": 1, "wait": 1}'
    assert json.loads(full["Result"]) == {"x": 2, "y": 12}

    events = history(lam, arns[0])
    assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
    first = lam.get_durable_execution_history(DurableExecutionArn=arns[0], MaxItems=4)
    assert len(first["Events"]) == 4
    second = lam.get_durable_execution_history(
        DurableExecutionArn=arns[0], MaxItems=4, Marker=first["NextMarker"]
    )
    assert second["Events"][0]["EventId"] == 5
    newest = lam.get_durable_execution_history(DurableExecutionArn=arns[0], ReverseOrder=True)
    assert newest["Events"][0]["EventType"] == "ExecutionSucceeded"
    bare = lam.get_durable_execution_history(
        DurableExecutionArn=arns[0], IncludeExecutionData=False
    )
    started = bare["Events"][0]["ExecutionStartedDetails"]
    assert "Payload" not in started["Input"]
    unknown = arns[0].rsplit("/", 1)[0] + "/" + uuid.uuid4().hex
    assert _error(lambda: lam.get_durable_execution(DurableExecutionArn=unknown))["Code"] == (
        "ResourceNotFoundException"
    )


def test_stop_pause_resume_delete(lam: Any, make_fn: Callable[..., str], evidence: Path) -> None:
    name = make_fn(H.CALLBACK)
    arn = start(lam, name, {"timeout": 120})
    wait_evidence(evidence, "callback ")
    assert _error(lambda: lam.delete_durable_execution(DurableExecutionArn=arn))["Code"] == (
        "ResourceConflictException"
    )
    assert (
        lam.pause_durable_execution(DurableExecutionArn=arn, Reason="look")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 202
    )
    paused = wait_for(lam, arn, ("PAUSED",), timeout=10)
    assert paused["Status"] == "PAUSED"
    assert paused["PauseDetails"]["ExecutionTimeoutPaused"] is True
    lam.resume_durable_execution(DurableExecutionArn=arn, Reason="done")
    assert lam.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"
    stopped = lam.stop_durable_execution(
        DurableExecutionArn=arn, Error={"ErrorMessage": "no longer needed", "ErrorType": "Ops"}
    )
    assert stopped["StopTimestamp"]
    found = lam.get_durable_execution(DurableExecutionArn=arn)
    assert found["Status"] == "STOPPED"
    assert found["Error"] == {"ErrorMessage": "no longer needed", "ErrorType": "Ops"}
    kinds = [e["EventType"] for e in history(lam, arn) if e["EventType"].startswith("Execution")]
    assert kinds == ["ExecutionStarted", "ExecutionPaused", "ExecutionResumed", "ExecutionStopped"]
    deleted = lam.delete_durable_execution(DurableExecutionArn=arn)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert _error(lambda: lam.get_durable_execution(DurableExecutionArn=arn))["Code"] == (
        "ResourceNotFoundException"
    )


def test_stale_and_foreign_checkpoint_tokens(lam: Any, make_fn: Callable[..., str]) -> None:
    name = make_fn(H.STEPS_AND_WAIT)
    arn = start(lam, name, {"a": 1, "wait": 1})
    wait_for(lam, arn)
    error = _error(
        lambda: lam.checkpoint_durable_execution(
            DurableExecutionArn=arn,
            CheckpointToken="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            Updates=[{"Id": "x", "Type": "STEP", "Action": "START"}],
        )
    )
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"].startswith("Invalid checkpoint token")
    assert not any(e.get("Id") == "x" for e in history(lam, arn))
    state = _error(
        lambda: lam.get_durable_execution_state(DurableExecutionArn=arn, CheckpointToken="QUJD")
    )
    assert state["Message"].startswith("Invalid checkpoint token")


def test_oversized_step_results_are_refused_with_the_service_limit(
    lam: Any, make_fn: Callable[..., str]
) -> None:
    name = make_fn(H.BIG_STEP)
    assert (
        json.loads(
            lam.invoke(FunctionName=name, Qualifier="$LATEST", Payload=b'{"size": 1000}')[
                "Payload"
            ].read()
        )
        == 1000
    )
    reply = lam.invoke(FunctionName=name, Qualifier="$LATEST", Payload=b'{"size": 300000}')
    assert reply["FunctionError"] == "Unhandled"
    body = json.loads(reply["Payload"].read())
    assert (
        "STEP output payload size must be less than or equal to 262144 bytes."
        in (body["errorMessage"])
    )


def test_changed_code_fails_replay_with_the_sdk_error(
    lam: Any, make_fn: Callable[..., str]
) -> None:
    from lambdahost.testing import make_zip

    name = make_fn(H.NONDETERMINISTIC_V1)
    arn = start(lam, name, {})
    deadline = time.monotonic() + 20
    while "WaitStarted" not in [e["EventType"] for e in history(lam, arn)]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": H.NONDETERMINISTIC_V2}))
    found = wait_for(lam, arn)
    assert found["Status"] == "FAILED"
    assert found["Error"]["ErrorType"].endswith("NonDeterministicExecutionError")


def test_durable_config_is_validated_and_fixed_at_creation(lam: Any) -> None:
    bad = _error(
        lambda: create_durable(lam, H.STEPS_AND_WAIT, config={"ExecutionTimeout": 31_622_401})
    )
    assert bad["Code"] == "ValidationException"
    assert "durableConfig.executionTimeout" in bad["Message"]
    too_long = _error(
        lambda: create_durable(
            lam, H.STEPS_AND_WAIT, config={"ExecutionTimeout": 10, "RetentionPeriodInDays": 91}
        )
    )
    assert too_long["Code"] == "ValidationException"
    plain = create_durable(lam, H.PLAIN_TARGET, durable=False)
    refused = _error(
        lambda: lam.update_function_configuration(
            FunctionName=plain, DurableConfig={"ExecutionTimeout": 60}
        )
    )
    assert refused["Code"] == "InvalidParameterValueException"
    durable = create_durable(lam, H.STEPS_AND_WAIT, config={"ExecutionTimeout": 60})
    assert lam.get_function_configuration(FunctionName=durable)["DurableConfig"] == {
        "ExecutionTimeout": 60,
        "RetentionPeriodInDays": 14,
    }
    updated = lam.update_function_configuration(
        FunctionName=durable, DurableConfig={"RetentionPeriodInDays": 30}
    )
    assert updated["DurableConfig"] == {"ExecutionTimeout": 60, "RetentionPeriodInDays": 30}
