"""CheckpointDurableExecution as a pure function: tokens, batches, transitions, deltas."""

from __future__ import annotations

import pytest

from lambdahost.core.clock import FakeClock
from lambdahost.durable import changes as C
from lambdahost.durable.journal import Target
from lambdahost.durable.lifecycle import stop
from lambdahost.durable.model import ExecutionStatus, OpStatus
from lambdahost.errors import ApiError
from tests.unit.durable.helpers import Caller, new_execution, step, wait


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def caller(clock: FakeClock) -> Caller:
    return Caller(new_execution(clock), clock)


def test_token_chain_advances_and_old_tokens_die(caller: Caller) -> None:
    first = caller.token
    caller.send(step("s1", "START"))
    assert caller.token != first
    with pytest.raises(ApiError) as exc:
        caller.send(step("s2", "START"), token=first)
    assert exc.value.code == "InvalidParameterValueException"
    assert exc.value.message.startswith("Invalid checkpoint token")
    assert "s2" not in caller.ex.ops


def test_foreign_and_garbage_tokens_change_nothing(clock: FakeClock, caller: Caller) -> None:
    other = Caller(new_execution(clock), clock)
    other.ex.arn = other.ex.arn.replace("exec-1", "exec-2")
    foreign = Caller(other.ex, clock).token
    before = dict(caller.ex.ops)
    for token in (foreign, "not-a-token", "QUJD"):
        with pytest.raises(ApiError) as exc:
            caller.send(step("s1", "START"), token=token)
        assert exc.value.message.startswith("Invalid checkpoint token")
    assert caller.ex.ops == before


def test_a_new_invocation_revokes_the_previous_tokens(clock: FakeClock, caller: Caller) -> None:
    old = caller.token
    Caller(caller.ex, clock)
    with pytest.raises(ApiError):
        caller.send(step("s1", "START"), token=old)


def test_same_client_token_replays_the_cached_answer(caller: Caller) -> None:
    inbound = caller.token
    first = caller.send(step("s1", "START"), step("s1", "SUCCEED", Payload="1"), client_token="c1")
    again = caller.send(
        step("s1", "START"), step("s1", "SUCCEED", Payload="1"), client_token="c1", token=inbound
    )
    assert again.changes is None
    assert again.response == first.response
    assert caller.ex.ops["s1"].attempt == 1


def test_response_has_touched_ops_and_unseen_changes_only(caller: Caller) -> None:
    result = caller.send(step("s1", "START"), step("s1", "SUCCEED", Payload='"x"'))
    ops = caller.ops(result)
    assert list(ops) == ["s1"]
    assert ops["s1"]["Status"] == "SUCCEEDED"
    assert ops["s1"]["StepDetails"] == {"Attempt": 1, "Result": '"x"'}
    assert caller.ops(caller.send()) == {}


def test_empty_checkpoint_completes_due_waits(clock: FakeClock, caller: Caller) -> None:
    caller.send(wait("w1", 2))
    assert caller.ex.timers[("w1", C.WAIT)] == clock.time() + 2
    clock.advance(1)
    assert caller.ops(caller.send()) == {}
    clock.advance(1)
    ops = caller.ops(caller.send())
    assert ops["w1"]["Status"] == "SUCCEEDED"
    assert ("w1", C.WAIT) not in caller.ex.timers


def test_step_retry_counts_attempts_and_keeps_payload(clock: FakeClock, caller: Caller) -> None:
    caller.send(step("s1", "START"))
    error = {"ErrorMessage": "boom", "ErrorType": "RuntimeError"}
    ops = caller.ops(
        caller.send(step("s1", "RETRY", Error=error, StepOptions={"NextAttemptDelaySeconds": 3}))
    )
    assert ops["s1"]["Status"] == "PENDING"
    assert ops["s1"]["StepDetails"]["Attempt"] == 1
    assert ops["s1"]["StepDetails"]["NextAttemptTimestamp"] == round(clock.time() + 3, 3)
    clock.advance(3)
    assert caller.ops(caller.send())["s1"]["Status"] == "READY"
    caller.send(step("s1", "START"))
    assert caller.ex.ops["s1"].attempt == 1
    caller.send(step("s1", "RETRY", Payload='{"n": 2}', StepOptions={"NextAttemptDelaySeconds": 1}))
    assert caller.ex.ops["s1"].result == '{"n": 2}'
    clock.advance(1)
    caller.send()
    ops = caller.ops(caller.send(step("s1", "START"), step("s1", "SUCCEED", Payload="3")))
    assert ops["s1"]["StepDetails"]["Attempt"] == 3
    assert ops["s1"]["Status"] == "SUCCEEDED"


def test_a_bad_update_rejects_the_whole_batch(caller: Caller) -> None:
    seq = caller.ex.event_seq
    with pytest.raises(ApiError) as exc:
        caller.send(step("s1", "START"), wait("w1", 1), step("s1", "START"))
    assert "same ID" in exc.value.message
    assert "s1" not in caller.ex.ops and "w1" not in caller.ex.ops
    assert caller.ex.event_seq == seq
    assert not caller.ex.timers.keys() - {("", C.EXEC_TIMEOUT)}


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ([step("s1", "SUCCEED", Error={"ErrorMessage": "x"})], "Cannot provide an Error"),
        ([step("s1", "FAIL", Payload="1")], "Cannot provide a Payload"),
        ([step("s1", "RETRY")], "Invalid StepOptions"),
        ([wait("w1", 1), wait("w1", 1)], "same ID"),
        ([step("s1", "START", ParentId="nope")], "Invalid parent"),
        ([step("s1", "CANCEL")], "Invalid action"),
        (
            [{"Id": "x", "Type": "EXECUTION", "Action": "SUCCEED"}, step("s1", "START")],
            "must be the last update",
        ),
    ],
)
def test_batch_rules(caller: Caller, updates: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ApiError) as exc:
        caller.send(*updates)
    assert exc.value.code == "InvalidParameterValueException"
    assert message in exc.value.message


def test_operation_metadata_must_not_change(caller: Caller) -> None:
    caller.send(step("s1", "START"))
    with pytest.raises(ApiError) as exc:
        caller.send({**step("s1", "SUCCEED"), "Name": "renamed"})
    assert "Inconsistent operation name" in exc.value.message


def test_children_of_contexts_started_in_the_same_batch(caller: Caller) -> None:
    ctx = {"Id": "c1", "Type": "CONTEXT", "Action": "START", "SubType": "Parallel"}
    result = caller.send(
        ctx, step("s1", "START", ParentId="c1"), wait("w1", 5) | {"ParentId": "c1"}
    )
    assert set(caller.ops(result)) == {"c1", "s1", "w1"}
    done = {
        "Id": "c1",
        "Type": "CONTEXT",
        "Action": "SUCCEED",
        "Payload": "[]",
        "ContextOptions": {"ReplayChildren": True},
    }
    ops = caller.ops(caller.send(done))
    assert ops["c1"]["ContextDetails"] == {"ReplayChildren": True, "Result": "[]"}


def test_callback_start_returns_the_server_callback_id(clock: FakeClock, caller: Caller) -> None:
    update = {
        "Id": "cb",
        "Type": "CALLBACK",
        "Action": "START",
        "CallbackOptions": {"TimeoutSeconds": 30, "HeartbeatTimeoutSeconds": 5},
    }
    result = caller.send(update)
    details = caller.ops(result)["cb"]["CallbackDetails"]
    assert details["CallbackId"].startswith("cb")
    assert result.changes is not None
    assert result.changes.callbacks == [(details["CallbackId"], "cb")]
    assert caller.ex.timers[("cb", C.CB_TIMEOUT)] == clock.time() + 30
    assert caller.ex.timers[("cb", C.CB_HEARTBEAT)] == clock.time() + 5


def test_execution_update_closes_and_omits_the_token(caller: Caller) -> None:
    result = caller.send(
        step("s1", "START"),
        {"Id": "execution-result-1", "Type": "EXECUTION", "Action": "SUCCEED", "Payload": "big"},
    )
    assert "CheckpointToken" not in result.response
    assert caller.ex.status is ExecutionStatus.SUCCEEDED
    assert caller.ex.result == "big"
    assert "execution-result-1" not in caller.ex.ops
    assert result.changes is not None and result.changes.closed


def test_stopped_execution_answers_without_a_token(clock: FakeClock, caller: Caller) -> None:
    stop(caller.ex, {"ErrorMessage": "stop"}, clock.time())
    result = caller.send(step("s1", "START"))
    assert "CheckpointToken" not in result.response
    assert result.changes is None
    assert "s1" not in caller.ex.ops


def test_pausing_applies_the_batch_then_revokes(clock: FakeClock, caller: Caller) -> None:
    from lambdahost.durable.lifecycle import pause

    pause(caller.ex, "maintenance", True, clock.time())
    assert caller.ex.status is ExecutionStatus.PAUSING
    result = caller.send(step("s1", "START"))
    assert "CheckpointToken" not in result.response
    assert caller.ex.ops["s1"].status is OpStatus.STARTED
    assert caller.ex.status.value == "PAUSED"


def test_chained_invoke_of_a_durable_target_starts_a_child(caller: Caller) -> None:
    update = {
        "Id": "inv",
        "Type": "CHAINED_INVOKE",
        "Action": "START",
        "SubType": "ChainedInvoke",
        "Payload": '{"n": 1}',
        "ChainedInvokeOptions": {"FunctionName": "other:2"},
    }
    target = Target("other", "2", True, {"DurableConfig": {"ExecutionTimeout": 60}})
    result = caller.send(update, targets={"other:2": target})
    assert result.changes is not None
    (child,) = result.changes.children
    assert child.insert and child.execution.parent == (caller.ex.arn, "inv")
    assert child.execution.input_payload == '{"n": 1}'
    assert child.execution.arn.startswith(
        "arn:aws:lambda:us-east-1:123456789012:function:other:2/durable-execution/"
    )
    assert caller.ops(result)["inv"]["Status"] == "STARTED"


def test_chained_invoke_of_an_unknown_target_fails_at_once(caller: Caller) -> None:
    update = {
        "Id": "inv",
        "Type": "CHAINED_INVOKE",
        "Action": "START",
        "Payload": "{}",
        "ChainedInvokeOptions": {"FunctionName": "missing"},
    }
    ops = caller.ops(caller.send(update))
    assert ops["inv"]["Status"] == "FAILED"
    assert ops["inv"]["ChainedInvokeDetails"]["Error"]["ErrorType"] == "ResourceNotFoundException"


def test_history_events_follow_the_batch_order(clock: FakeClock, caller: Caller) -> None:
    result = caller.send(step("s1", "START"), step("s1", "SUCCEED", Payload="1"), wait("w", 3))
    assert result.changes is not None
    kinds = [e["EventType"] for e in result.changes.events]
    assert kinds == ["StepStarted", "StepSucceeded", "WaitStarted"]
    ids = [e["EventId"] for e in result.changes.events]
    assert ids == [2, 3, 4]
    assert result.changes.events[2]["WaitStartedDetails"] == {
        "Duration": 3,
        "ScheduledEndTimestamp": clock.time() + 3,
    }
