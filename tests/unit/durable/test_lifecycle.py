"""Execution-level transitions: start, timers, callbacks, invocations, stop, pause."""

from __future__ import annotations

import json

import pytest

from lambdahost.core.clock import FakeClock
from lambdahost.durable import changes as C
from lambdahost.durable import lifecycle as L
from lambdahost.durable.model import ExecutionStatus, OpStatus
from lambdahost.errors import InvalidTransition
from tests.unit.durable.helpers import BOOT, Caller, new_execution, step, wait


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


def _output(status: str, **extra: object) -> bytes:
    return json.dumps({"Status": status, **extra}).encode()


def test_start_builds_the_execution_operation_and_timeout(clock: FakeClock) -> None:
    ex = new_execution(clock, payload='{"order": 1}')
    op = ex.ops[ex.exec_id]
    assert ex.arn.endswith("/durable-execution/run-1/exec-1")
    assert op.to_wire(millis=True) == {
        "Id": "exec-1",
        "Name": "run-1",
        "Type": "EXECUTION",
        "StartTimestamp": 1_800_000_000_000,
        "Status": "STARTED",
        "ExecutionDetails": {"InputPayload": '{"order": 1}'},
    }
    assert ex.timers[("", C.EXEC_TIMEOUT)] == clock.time() + 600
    assert ex.invoke_wanted


def test_invocation_event_carries_the_log_in_milliseconds(clock: FakeClock) -> None:
    ex = new_execution(clock)
    caller = Caller(ex, clock)
    caller.send(wait("w1", 2))
    event = L.begin_invocation(ex, clock.time(), BOOT, "req-2")
    ops = event["InitialExecutionState"]["Operations"]
    assert [o["Id"] for o in ops] == ["exec-1", "w1"]
    assert ops[1]["WaitDetails"]["ScheduledEndTimestamp"] == 1_800_000_002_000
    assert event["DurableExecutionArn"] == ex.arn
    assert event["InitialExecutionState"]["NextMarker"] == ""


def test_a_large_log_is_paged(clock: FakeClock) -> None:
    ex = new_execution(clock)
    caller = Caller(ex, clock)
    for i in range(5):
        caller.send(step(f"s{i}", "SUCCEED", Payload="x" * 1000))
    event = L.begin_invocation(ex, clock.time(), BOOT, "req", page_bytes=2500)
    state = event["InitialExecutionState"]
    assert 1 < len(state["Operations"]) < 6
    assert state["NextMarker"] == str(len(state["Operations"]))


def test_timers_complete_operations_and_wake_the_execution(clock: FakeClock) -> None:
    ex = new_execution(clock)
    caller = Caller(ex, clock)
    caller.send(wait("w1", 2))
    L.end_invocation(ex, payload=_output("PENDING"), function_error=None, now=clock.time())
    assert not ex.invoke_wanted
    clock.advance(2)
    ch = L.fire_timer(ex, "w1", C.WAIT, clock.time())
    assert ex.ops["w1"].status is OpStatus.SUCCEEDED
    assert ch.wake and ch.row and ex.invoke_wanted
    assert [e["EventType"] for e in ch.events] == ["WaitSucceeded"]
    assert ex.rt.unseen_ids == {"w1"}
    event = L.begin_invocation(ex, clock.time(), BOOT, "req-3")
    assert event["UpdatedOperationIds"] == ["w1"]


def test_callback_outcomes_and_heartbeat_timeout(clock: FakeClock) -> None:
    ex = new_execution(clock)
    caller = Caller(ex, clock)
    start = {
        "Type": "CALLBACK",
        "Action": "START",
        "CallbackOptions": {"HeartbeatTimeoutSeconds": 5},
    }
    caller.send({"Id": "a", **start}, {"Id": "b", **start}, {"Id": "c", **start})
    assert L.complete_callback(ex, "a", clock.time(), result='"ok"') is not None
    assert ex.ops["a"].result == '"ok"'
    assert L.complete_callback(ex, "a", clock.time(), result="again") is None
    L.complete_callback(ex, "b", clock.time(), error={"ErrorType": "Rejected"})
    assert ex.ops["b"].status is OpStatus.FAILED
    clock.advance(4)
    L.heartbeat(ex, "c", clock.time())
    clock.advance(4)
    L.fire_timer(ex, "c", C.CB_HEARTBEAT, clock.time())
    assert ex.ops["c"].status is OpStatus.STARTED
    clock.advance(1)
    L.fire_timer(ex, "c", C.CB_HEARTBEAT, clock.time())
    assert ex.ops["c"].status.value == "TIMED_OUT"
    assert ex.ops["c"].error == {
        "ErrorType": "Callback.Heartbeat",
        "ErrorMessage": "Callback heartbeat timed out",
    }


def test_execution_timeout_closes_the_execution(clock: FakeClock) -> None:
    ex = new_execution(clock, config={"ExecutionTimeout": 10, "RetentionPeriodInDays": 2})
    clock.advance(10)
    ch = L.fire_timer(ex, "", C.EXEC_TIMEOUT, clock.time())
    assert ex.status is ExecutionStatus.TIMED_OUT
    assert ch.closed and ex.error is not None
    assert ex.expire_at == clock.time() + 2 * 86_400
    assert ex.timers == {}


@pytest.mark.parametrize(
    ("payload", "status", "result"),
    [
        (_output("SUCCEEDED", Result='{"x": 1}'), ExecutionStatus.SUCCEEDED, '{"x": 1}'),
        (_output("FAILED", Error={"ErrorType": "ValueError"}), ExecutionStatus.FAILED, None),
        (b'{"statusCode": 200}', ExecutionStatus.FAILED, None),
        (b"not json", ExecutionStatus.FAILED, None),
    ],
)
def test_invocation_outputs(
    clock: FakeClock, payload: bytes, status: ExecutionStatus, result: str | None
) -> None:
    ex = new_execution(clock)
    L.begin_invocation(ex, clock.time(), BOOT, "r")
    end = L.end_invocation(ex, payload=payload, function_error=None, now=clock.time())
    assert end.next is L.Next.DONE
    assert ex.status is status
    assert ex.result == result
    kinds = [e["EventType"] for e in end.changes.events]
    assert kinds[0] == "InvocationCompleted"


def test_function_errors_back_off_then_fail(clock: FakeClock) -> None:
    ex = new_execution(clock)
    error = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": "exit 1"}).encode()
    delays = []
    for _ in range(L.MAX_INVOCATION_FAILURES - 1):
        L.begin_invocation(ex, clock.time(), BOOT, "r")
        end = L.end_invocation(ex, payload=error, function_error="Unhandled", now=clock.time())
        assert end.next is L.Next.LATER
        delays.append(ex.timers[("", C.REINVOKE)] - clock.time())
    assert delays == [1.0, 2.0, 4.0, 8.0]
    L.begin_invocation(ex, clock.time(), BOOT, "r")
    end = L.end_invocation(ex, payload=error, function_error="Unhandled", now=clock.time())
    assert end.next is L.Next.DONE
    assert ex.status is ExecutionStatus.FAILED
    assert ex.error == {"ErrorType": "Runtime.ExitError", "ErrorMessage": "exit 1"}


def test_pending_with_nothing_pending_is_retried_then_failed(clock: FakeClock) -> None:
    ex = new_execution(clock)
    nexts = []
    for _ in range(L.MAX_IDLE_PENDINGS):
        L.begin_invocation(ex, clock.time(), BOOT, "r")
        nexts.append(
            L.end_invocation(
                ex, payload=_output("PENDING"), function_error=None, now=clock.time()
            ).next
        )
    assert nexts == [L.Next.AGAIN, L.Next.AGAIN, L.Next.DONE]
    assert ex.status is ExecutionStatus.FAILED


def test_a_trigger_during_the_invocation_invokes_again(clock: FakeClock) -> None:
    ex = new_execution(clock)
    caller = Caller(ex, clock)
    start = {"Id": "cb", "Type": "CALLBACK", "Action": "START"}
    caller.send(start)
    L.complete_callback(ex, "cb", clock.time(), result="1")
    end = L.end_invocation(ex, payload=_output("PENDING"), function_error=None, now=clock.time())
    assert end.next is L.Next.AGAIN


def test_output_after_the_execution_closed_is_ignored(clock: FakeClock) -> None:
    ex = new_execution(clock)
    L.begin_invocation(ex, clock.time(), BOOT, "r")
    L.stop(ex, {"ErrorMessage": "enough"}, clock.time())
    end = L.end_invocation(
        ex, payload=_output("SUCCEEDED", Result="1"), function_error=None, now=clock.time()
    )
    assert ex.status is ExecutionStatus.STOPPED
    assert [e["EventType"] for e in end.changes.events] == ["InvocationCompleted"]


def test_pause_extends_the_execution_timeout(clock: FakeClock) -> None:
    ex = new_execution(clock, config={"ExecutionTimeout": 100})
    clock.advance(30)
    L.pause(ex, "look", True, clock.time())
    assert ex.status is ExecutionStatus.PAUSED
    assert ("", C.EXEC_TIMEOUT) not in ex.timers
    assert L.expected_timeout(ex) == ex.start + C.PAUSED_TIMEOUT_CAP
    clock.advance(1000)
    L.resume(ex, None, clock.time())
    assert ex.status.value == "RUNNING"
    assert ex.timers[("", C.EXEC_TIMEOUT)] == clock.time() + 70


def test_terminal_executions_cannot_move(clock: FakeClock) -> None:
    ex = new_execution(clock)
    L.stop(ex, None, clock.time())
    with pytest.raises(InvalidTransition):
        L.stop(ex, None, clock.time())


def test_chained_child_outcomes_map_to_the_parent_operation(clock: FakeClock) -> None:
    child = new_execution(clock)
    L.fire_timer(child, "", C.EXEC_TIMEOUT, clock.time() + 600)
    status, result, error = L.child_outcome(child)
    assert status is OpStatus.TIMED_OUT and result is None
    assert error is not None and error["ErrorType"] == "ChainedInvoke.Timeout"
