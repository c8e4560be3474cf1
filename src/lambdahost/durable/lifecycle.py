"""Execution-level transitions as pure functions: start, timers, invocations, callbacks, stop.

Each function takes the execution and ``now`` and returns (or fills) a
``Changes``; none does I/O. The engine decides *when* they run (a timer came
due, a callback arrived, an invocation returned) and persists the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lambdahost.durable import changes as C
from lambdahost.durable.changes import Changes
from lambdahost.durable.ids import ExecutionArn, encode_token
from lambdahost.durable.model import (
    Execution,
    ExecutionStatus,
    Operation,
    OpStatus,
    OpType,
    advance,
)

MAX_INVOCATION_FAILURES = 5
MAX_IDLE_PENDINGS = 3
EVENT_PAGE_BYTES = 5 * 1024 * 1024


def start_execution(
    arn: ExecutionArn,
    *,
    input_payload: str,
    config: dict[str, Any],
    now: float,
    parent: tuple[str, str] | None = None,
    trace_id: str | None = None,
) -> tuple[Execution, Changes]:
    timeout = int(config.get("ExecutionTimeout") or C.DEFAULT_EXECUTION_TIMEOUT)
    ex = Execution(
        arn=str(arn),
        function_name=arn.function_name,
        version=arn.version,
        name=arn.name,
        exec_id=arn.exec_id,
        status=ExecutionStatus.RUNNING,
        input_payload=input_payload,
        start=now,
        config=dict(config),
        timeout_at=now + timeout,
        parent=parent,
        trace_id=trace_id,
    )
    op = Operation(
        arn.exec_id,
        OpType.EXECUTION,
        OpStatus.STARTED,
        now,
        0,
        name=arn.name,
        input_payload=input_payload,
    )
    ex.ops[op.id] = op
    ex.touch(op)
    ch = Changes(ex, insert=True, row=True, wake=True)
    C.event(
        ex,
        ch,
        "ExecutionStarted",
        now,
        details={
            "Input": C.data(input_payload),
            "ExecutionTimeout": timeout,
        },
    )
    C.set_timer(ch, "", C.EXEC_TIMEOUT, now + timeout)
    C.commit(ex, ch)
    ex.rt.wake = True
    return ex, ch


# -- timers -------------------------------------------------------------------


def _fire(ex: Execution, ch: Changes, op: Operation, kind: str, now: float) -> bool:
    """Apply one due operation timer to ``op`` (a working copy). True if it changed."""
    if kind == C.WAIT and op.status is OpStatus.STARTED:
        op.move_to(OpStatus.SUCCEEDED)
        op.end = now
        C.event(ex, ch, "WaitSucceeded", now, op, {"Duration": op.wait_seconds or 0})
    elif kind == C.RETRY and op.status is OpStatus.PENDING:
        op.move_to(OpStatus.READY)
        op.next_attempt = None
    elif kind in (C.CB_TIMEOUT, C.CB_HEARTBEAT) and op.status is OpStatus.STARTED:
        error_type = "Callback.Timeout" if kind == C.CB_TIMEOUT else "Callback.Heartbeat"
        message = "Callback timed out" if kind == C.CB_TIMEOUT else "Callback heartbeat timed out"
        op.move_to(OpStatus.TIMED_OUT)
        op.end = now
        op.error = {"ErrorType": error_type, "ErrorMessage": message}
        C.del_timer(ex, ch, op.id, C.CB_TIMEOUT)
        C.del_timer(ex, ch, op.id, C.CB_HEARTBEAT)
        C.event(ex, ch, "CallbackTimedOut", now, op, {"Error": C.data(op.error)})
    else:
        return False
    C.changed(ex, ch, op)
    C.woken(ex, ch, op)
    return True


def fire_due(
    ex: Execution, ch: Changes, now: float, working: dict[str, Operation] | None = None
) -> None:
    """Complete every operation timer that is due (waits, retries, callback timeouts)."""
    due = sorted(
        (when, key) for key, when in ex.timers.items() if when <= now and key[1] in C.OP_TIMERS
    )
    for _, (op_id, kind) in due:
        C.del_timer(ex, ch, op_id, kind)
        current = ex.ops.get(op_id)
        if current is None:
            continue
        if working is not None:
            op = working.get(op_id) or current.copy()
            if _fire(ex, ch, op, kind, now):
                working[op_id] = op
        else:
            _fire(ex, ch, current.copy(), kind, now)


def fire_timer(ex: Execution, op_id: str, kind: str, now: float) -> Changes:
    """A stored timer came due (the engine's scheduler calls this)."""
    ch = Changes(ex)
    if (op_id, kind) not in ex.timers:
        return ch
    if kind in C.OP_TIMERS:
        fire_due(ex, ch, now)
    elif kind == C.EXEC_TIMEOUT:
        C.del_timer(ex, ch, op_id, kind)
        if not ex.closed:
            C.close(
                ex,
                ch,
                ExecutionStatus.TIMED_OUT,
                now,
                error={
                    "ErrorType": "Execution.Timeout",
                    "ErrorMessage": "The durable execution exceeded its ExecutionTimeout of "
                    f"{int(ex.config.get('ExecutionTimeout') or C.DEFAULT_EXECUTION_TIMEOUT)} seconds.",
                },
            )
    elif kind == C.REINVOKE:
        C.del_timer(ex, ch, op_id, kind)
        C.woken(ex, ch, None)
    C.commit(ex, ch)
    return ch


# -- external completions ------------------------------------------------------


def _open_operation(ex: Execution, op_id: str) -> Operation | None:
    """The operation an outside event completes, if the execution still waits on it."""
    current = ex.ops.get(op_id)
    if ex.closed or current is None or current.status is not OpStatus.STARTED:
        return None
    return current


def _settle(
    ex: Execution,
    op_id: str,
    status: OpStatus,
    now: float,
    event: str,
    details: dict[str, Any],
    timers: tuple[str, ...],
    *,
    result: str | None = None,
    error: dict[str, Any] | None = None,
) -> Changes | None:
    """End an operation the execution waits on from outside (callback, chained invoke):
    its status, history event, timers gone, the execution woken. None if it is not open."""
    current = _open_operation(ex, op_id)
    if current is None:
        return None
    ch = Changes(ex)
    op = current.copy()
    op.move_to(status)
    op.end = now
    op.result = result
    if error is not None:
        op.error = error
    for kind in timers:
        C.del_timer(ex, ch, op_id, kind)
    C.event(ex, ch, event, now, op, details)
    C.changed(ex, ch, op)
    C.woken(ex, ch, op)
    C.commit(ex, ch)
    return ch


def complete_callback(
    ex: Execution,
    op_id: str,
    now: float,
    *,
    result: str | None = None,
    error: dict[str, Any] | None = None,
) -> Changes | None:
    """A callback success or failure; None if the callback is no longer open."""
    timers = (C.CB_TIMEOUT, C.CB_HEARTBEAT)
    if error is None:
        value = result or ""
        details = {"Result": C.data(value)}
        return _settle(
            ex, op_id, OpStatus.SUCCEEDED, now, "CallbackSucceeded", details, timers, result=value
        )
    details = {"Error": C.data(error)}
    return _settle(ex, op_id, OpStatus.FAILED, now, "CallbackFailed", details, timers, error=error)


def heartbeat(ex: Execution, op_id: str, now: float) -> Changes | None:
    current = _open_operation(ex, op_id)
    if current is None:
        return None
    ch = Changes(ex)
    if current.cb_heartbeat:
        C.set_timer(ch, op_id, C.CB_HEARTBEAT, now + current.cb_heartbeat)
    C.commit(ex, ch)
    return ch


CHAINED_EVENTS = {
    OpStatus.SUCCEEDED: "ChainedInvokeSucceeded",
    OpStatus.FAILED: "ChainedInvokeFailed",
    OpStatus.TIMED_OUT: "ChainedInvokeTimedOut",
    OpStatus.STOPPED: "ChainedInvokeStopped",
}


def complete_chained(
    ex: Execution,
    op_id: str,
    status: OpStatus,
    now: float,
    *,
    result: str | None = None,
    error: dict[str, Any] | None = None,
) -> Changes | None:
    if status is OpStatus.SUCCEEDED:
        details = {"Result": C.data(result)}
        return _settle(
            ex, op_id, status, now, CHAINED_EVENTS[status], details, (C.TARGET,), result=result
        )
    error = error or {}
    details = {"Error": C.data(error)}
    return _settle(
        ex, op_id, status, now, CHAINED_EVENTS[status], details, (C.TARGET,), error=error
    )


def child_outcome(child: Execution) -> tuple[OpStatus, str | None, dict[str, Any] | None]:
    """How a finished chained durable execution shows in its parent's CHAINED_INVOKE."""
    if child.status is ExecutionStatus.SUCCEEDED:
        return OpStatus.SUCCEEDED, child.result, None
    if child.status is ExecutionStatus.TIMED_OUT:
        return (
            OpStatus.TIMED_OUT,
            None,
            {
                "ErrorType": "ChainedInvoke.Timeout",
                "ErrorMessage": (child.error or {}).get(
                    "ErrorMessage", "The chained invoke timed out."
                ),
            },
        )
    if child.status is ExecutionStatus.STOPPED:
        return OpStatus.STOPPED, None, child.error or {}
    return OpStatus.FAILED, None, child.error or {}


# -- invocations ---------------------------------------------------------------


def begin_invocation(
    ex: Execution, now: float, boot: int, request_id: str, page_bytes: int = EVENT_PAGE_BYTES
) -> dict[str, Any]:
    """The durable event for the next invocation; tokens of earlier invocations die here."""
    rt = ex.rt
    rt.invocation += 1
    rt.checkpoint = 0
    rt.invoking = True
    rt.invocation_started = now
    rt.request_id = request_id
    rt.unsent.clear()
    rt.wake = False
    rt.last_call = None
    rt.token = encode_token(boot, ex.arn, rt.invocation, 0)
    updated = sorted(rt.unseen_ids)
    rt.unseen_ids.clear()
    ops: list[dict[str, Any]] = []
    size = 0
    marker = ""
    for index, op in enumerate(ex.ops.values()):
        wire = op.to_wire(millis=True)
        size += len(json.dumps(wire))
        if ops and size > page_bytes:
            marker = str(index)
            break
        ops.append(wire)
    return {
        "DurableExecutionArn": ex.arn,
        "CheckpointToken": rt.token,
        "InitialExecutionState": {"Operations": ops, "NextMarker": marker},
        "UpdatedOperationIds": updated,
    }


class Next(Enum):
    """What the engine does after an invocation returned."""

    DONE = "done"  # closed, paused, or waiting for a trigger
    AGAIN = "again"  # invoke again now
    LATER = "later"  # a reinvoke timer is set (function error backoff)


@dataclass
class InvocationEnd:
    next: Next
    changes: Changes


def _function_error(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        error: dict[str, Any] = {
            "ErrorType": str(body.get("errorType") or "Unhandled"),
            "ErrorMessage": str(body.get("errorMessage") or ""),
        }
        trace = body.get("stackTrace")
        if isinstance(trace, list) and all(isinstance(t, str) for t in trace):
            error["StackTrace"] = trace
        return error
    return {"ErrorType": "Unhandled", "ErrorMessage": payload.decode(errors="replace")[:4096]}


def end_invocation(
    ex: Execution,
    *,
    payload: bytes,
    function_error: str | None,
    now: float,
    retry_delay_s: float = 1.0,
) -> InvocationEnd:
    rt = ex.rt
    rt.invoking = False
    ch = Changes(ex)
    completed: dict[str, Any] = {
        "StartTimestamp": rt.invocation_started,
        "EndTimestamp": now,
        "RequestId": rt.request_id,
    }
    if ex.closed:
        C.event(ex, ch, "InvocationCompleted", now, details=completed)
        return InvocationEnd(Next.DONE, ch)
    if function_error:
        error = _function_error(payload)
        completed["Error"] = C.data(error)
        C.event(ex, ch, "InvocationCompleted", now, details=completed)
        rt.failures += 1
        if rt.failures >= MAX_INVOCATION_FAILURES:
            C.close(ex, ch, ExecutionStatus.FAILED, now, error=error)
            return InvocationEnd(Next.DONE, ch)
        delay = retry_delay_s * (2 ** (rt.failures - 1))
        C.set_timer(ch, "", C.REINVOKE, now + delay)
        C.commit(ex, ch)
        return InvocationEnd(Next.LATER, ch)
    C.event(ex, ch, "InvocationCompleted", now, details=completed)
    rt.failures = 0
    output = _parse_output(payload)
    status = output.get("Status") if output is not None else None
    if status == "SUCCEEDED":
        result = output.get("Result") if output else None
        C.close(
            ex,
            ch,
            ExecutionStatus.SUCCEEDED,
            now,
            result=result if isinstance(result, str) else json.dumps(result),
        )
    elif status == "FAILED":
        failure = output.get("Error") if output else None
        C.close(
            ex, ch, ExecutionStatus.FAILED, now, error=failure if isinstance(failure, dict) else {}
        )
    elif status == "PENDING":
        return _pending(ex, ch, now)
    else:
        C.close(
            ex,
            ch,
            ExecutionStatus.FAILED,
            now,
            error={
                "ErrorType": "InvalidParameterValueException",
                "ErrorMessage": "Invalid Status in invocation output.",
            },
        )
    C.commit(ex, ch)
    return InvocationEnd(Next.DONE, ch)


def _parse_output(payload: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _pending(ex: Execution, ch: Changes, now: float) -> InvocationEnd:
    rt = ex.rt
    if ex.status is ExecutionStatus.PAUSING:
        ex.status = advance(ex.status, ExecutionStatus.PAUSED, ex.arn)
        ch.row = True
        return InvocationEnd(Next.DONE, ch)
    if ex.status is ExecutionStatus.PAUSED:
        return InvocationEnd(Next.DONE, ch)
    ready = any(op.status is OpStatus.READY for op in ex.ops.values())
    if rt.wake or ready:
        rt.idle_pendings = 0
        return InvocationEnd(Next.AGAIN, ch)
    if ex.pending_work():
        rt.idle_pendings = 0
        if ex.invoke_wanted:
            ex.invoke_wanted = False
            ch.row = True
        return InvocationEnd(Next.DONE, ch)
    rt.idle_pendings += 1
    if rt.idle_pendings >= MAX_IDLE_PENDINGS:
        C.close(
            ex,
            ch,
            ExecutionStatus.FAILED,
            now,
            error={
                "ErrorType": "InvalidParameterValueException",
                "ErrorMessage": "Cannot return PENDING status with no pending operations.",
            },
        )
        C.commit(ex, ch)
        return InvocationEnd(Next.DONE, ch)
    return InvocationEnd(Next.AGAIN, ch)


# -- control ---------------------------------------------------------------------


def stop(ex: Execution, error: dict[str, Any] | None, now: float) -> Changes:
    ch = Changes(ex)
    C.close(ex, ch, ExecutionStatus.STOPPED, now, error=error or {})
    C.commit(ex, ch)
    return ch


def pause(ex: Execution, reason: str | None, timeout_paused: bool, now: float) -> Changes:
    ch = Changes(ex, row=True)
    target = ExecutionStatus.PAUSING if ex.rt.invoking else ExecutionStatus.PAUSED
    ex.status = advance(ex.status, target, ex.arn)
    ex.pause = {"PauseRequestTimestamp": now, "ExecutionTimeoutPaused": timeout_paused}
    if reason is not None:
        ex.pause["Reason"] = reason
    if timeout_paused and ex.timeout_at is not None:
        ex.pause["remaining"] = max(0.0, ex.timeout_at - now)
        C.del_timer(ex, ch, "", C.EXEC_TIMEOUT)
    details: dict[str, Any] = {
        "PauseRequestTimestamp": now,
        "ExecutionTimeoutPaused": timeout_paused,
    }
    if reason is not None:
        details["Reason"] = C.data(reason)
    C.event(ex, ch, "ExecutionPaused", now, details=details)
    C.commit(ex, ch)
    return ch


def resume(ex: Execution, reason: str | None, now: float) -> Changes:
    ch = Changes(ex, row=True)
    was_paused = ex.status is ExecutionStatus.PAUSED
    pause_info = ex.pause or {}
    ex.status = advance(ex.status, ExecutionStatus.RUNNING, ex.arn)
    ex.pause = None
    if "remaining" in pause_info:
        ex.timeout_at = min(now + float(pause_info["remaining"]), ex.start + C.PAUSED_TIMEOUT_CAP)
        C.set_timer(ch, "", C.EXEC_TIMEOUT, ex.timeout_at)
    details: dict[str, Any] = {"ResumeRequestTimestamp": now}
    if reason is not None:
        details["Reason"] = C.data(reason)
    C.event(ex, ch, "ExecutionResumed", now, details=details)
    if was_paused and (ex.invoke_wanted or ex.rt.wake):
        C.woken(ex, ch, None)
    C.commit(ex, ch)
    return ch


def expected_timeout(ex: Execution) -> float | None:
    if ex.closed:
        return None
    if ex.pause and "remaining" in ex.pause:
        return ex.start + C.PAUSED_TIMEOUT_CAP
    return ex.timeout_at
