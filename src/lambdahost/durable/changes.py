"""The write set of one decision, and the helpers every pure transition uses to fill it.

Pure. A ``Changes`` is what the store must persist atomically (rows, events,
timers, callback ids) plus what the engine does once it is durable (invoke
again, start children, dispatch plain chained invokes, wake waiters). Helpers
record into a ``Changes``; ``commit`` applies the recorded timers and operations
to the in-memory execution, so a batch that fails validation leaves it untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lambdahost.durable.model import Execution, ExecutionStatus, Operation, advance

WAIT = "wait"
RETRY = "retry"
CB_TIMEOUT = "cb-timeout"
CB_HEARTBEAT = "cb-heartbeat"
EXEC_TIMEOUT = "exec-timeout"
REINVOKE = "reinvoke"
TARGET = "target"
OP_TIMERS = (WAIT, RETRY, CB_TIMEOUT, CB_HEARTBEAT)
DAY = 86_400.0
DEFAULT_RETENTION_DAYS = 14
DEFAULT_EXECUTION_TIMEOUT = 86_400
PAUSED_TIMEOUT_CAP = 366 * DAY

TimerKey = tuple[str, str]


@dataclass
class Changes:
    """Everything one decision changed, to be committed in one transaction."""

    execution: Execution
    insert: bool = False
    row: bool = False
    ops: dict[str, Operation] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    timers_set: dict[TimerKey, float] = field(default_factory=dict)
    timers_del: set[TimerKey] = field(default_factory=set)
    callbacks: list[tuple[str, str]] = field(default_factory=list)
    children: list[Changes] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    wake: bool = False
    closed: bool = False

    def empty(self) -> bool:
        return not (
            self.insert
            or self.row
            or self.ops
            or self.events
            or self.timers_set
            or self.timers_del
            or self.callbacks
            or self.children
        )

    def flatten(self) -> list[Changes]:
        found = [self]
        for child in self.children:
            found.extend(child.flatten())
        return found


def event(
    ex: Execution,
    ch: Changes,
    kind: str,
    now: float,
    op: Operation | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append a history event (EventId in commit order)."""
    ex.event_seq += 1
    record: dict[str, Any] = {"EventType": kind, "EventId": ex.event_seq, "EventTimestamp": now}
    if op is not None:
        if op.sub_type:
            record["SubType"] = op.sub_type
        record["Id"] = op.id
        if op.name:
            record["Name"] = op.name
        if op.parent_id:
            record["ParentId"] = op.parent_id
    else:
        record["Id"] = ex.exec_id
        record["Name"] = ex.name
    record[f"{kind}Details"] = details if details is not None else {}
    ch.events.append(record)


def data(payload: Any) -> dict[str, Any]:
    """A history payload wrapper (``EventInput``/``EventResult``/``EventError``)."""
    if payload is None:
        return {"Truncated": False}
    return {"Payload": payload, "Truncated": False}


def set_timer(ch: Changes, op_id: str, kind: str, due: float) -> None:
    key = (op_id, kind)
    ch.timers_set[key] = due
    ch.timers_del.discard(key)


def del_timer(ex: Execution, ch: Changes, op_id: str, kind: str) -> None:
    key = (op_id, kind)
    ch.timers_set.pop(key, None)
    if key in ex.timers:
        ch.timers_del.add(key)


def changed(ex: Execution, ch: Changes, op: Operation) -> None:
    ex.touch(op)
    ch.ops[op.id] = op


def woken(ex: Execution, ch: Changes, op: Operation | None) -> None:
    """A change the handler has not seen: (re)invoke once the current invocation ends."""
    if op is not None:
        ex.rt.unseen_ids.add(op.id)
    ex.rt.wake = True
    ch.wake = True
    if not ex.invoke_wanted:
        ex.invoke_wanted = True
        ch.row = True


def commit(ex: Execution, ch: Changes) -> None:
    """Apply the recorded operations and timers to the in-memory execution."""
    for op in ch.ops.values():
        ex.ops[op.id] = op
    for key in ch.timers_del:
        ex.timers.pop(key, None)
    ex.timers.update(ch.timers_set)


def retention_days(config: dict[str, Any]) -> int:
    return int(config.get("RetentionPeriodInDays") or DEFAULT_RETENTION_DAYS)


def close(
    ex: Execution,
    ch: Changes,
    status: ExecutionStatus,
    now: float,
    *,
    result: str | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """End the execution: terminal status, its closing event, no more timers."""
    ex.status = advance(ex.status, status, ex.arn)
    ex.end = now
    ex.result = result
    ex.error = error
    ex.expire_at = now + retention_days(ex.config) * DAY
    ex.invoke_wanted = False
    ex.pause = None
    ch.row = True
    ch.closed = True
    for key in list(ex.timers) + list(ch.timers_set):
        del_timer(ex, ch, key[0], key[1])
    if status is ExecutionStatus.SUCCEEDED:
        event(ex, ch, "ExecutionSucceeded", now, details={"Result": data(result or "")})
    else:
        kind = {
            ExecutionStatus.FAILED: "ExecutionFailed",
            ExecutionStatus.TIMED_OUT: "ExecutionTimedOut",
            ExecutionStatus.STOPPED: "ExecutionStopped",
        }[status]
        event(ex, ch, kind, now, details={"Error": data(error or {})})
