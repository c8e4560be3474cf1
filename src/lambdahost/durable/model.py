"""Durable-execution data model: enums, guarded state machines, operation and execution records.

Pure (stdlib only). The execution and operation lifecycles are enums with
explicit transition tables; ``advance``/``move_to`` raise ``InvalidTransition``
on an illegal move. Records carry their own wire forms: the checkpoint/state API
(botocore timestamps, epoch seconds) and the invocation event (epoch
milliseconds, which is what the SDK's ``Operation.from_json_dict`` expects).
What happens on a checkpoint lives in ``journal``; storage in ``repo``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lambdahost.errors import InvalidTransition


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    PAUSING = "PAUSING"
    PAUSED = "PAUSED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"
    DELETING = "DELETING"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_EXECUTION


_TERMINAL_EXECUTION = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.TIMED_OUT,
        ExecutionStatus.STOPPED,
    }
)
_ENDINGS = _TERMINAL_EXECUTION
EXECUTION_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.RUNNING: _ENDINGS | {ExecutionStatus.PAUSING, ExecutionStatus.PAUSED},
    ExecutionStatus.PAUSING: _ENDINGS | {ExecutionStatus.PAUSED, ExecutionStatus.RUNNING},
    # Nothing is invoked while paused, so only a stop or a timeout can end it.
    ExecutionStatus.PAUSED: frozenset(
        {ExecutionStatus.RUNNING, ExecutionStatus.STOPPED, ExecutionStatus.TIMED_OUT}
    ),
    ExecutionStatus.SUCCEEDED: frozenset({ExecutionStatus.DELETING}),
    ExecutionStatus.FAILED: frozenset({ExecutionStatus.DELETING}),
    ExecutionStatus.TIMED_OUT: frozenset({ExecutionStatus.DELETING}),
    ExecutionStatus.STOPPED: frozenset({ExecutionStatus.DELETING}),
    ExecutionStatus.DELETING: frozenset(),
}


class OpType(StrEnum):
    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class Action(StrEnum):
    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


class OpStatus(StrEnum):
    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_OP


_TERMINAL_OP = frozenset(
    {
        OpStatus.SUCCEEDED,
        OpStatus.FAILED,
        OpStatus.CANCELLED,
        OpStatus.TIMED_OUT,
        OpStatus.STOPPED,
    }
)
S = OpStatus
# Legal moves per operation type; the key None is "the operation does not exist yet".
OP_TRANSITIONS: dict[OpType, dict[OpStatus | None, frozenset[OpStatus]]] = {
    OpType.STEP: {
        None: frozenset({S.STARTED, S.SUCCEEDED, S.FAILED, S.PENDING}),
        S.STARTED: frozenset({S.SUCCEEDED, S.FAILED, S.PENDING}),
        S.READY: frozenset({S.STARTED, S.SUCCEEDED, S.FAILED, S.PENDING}),
        S.PENDING: frozenset({S.READY}),
    },
    OpType.WAIT: {
        None: frozenset({S.STARTED}),
        S.STARTED: frozenset({S.SUCCEEDED, S.CANCELLED}),
    },
    OpType.CALLBACK: {
        None: frozenset({S.STARTED}),
        S.STARTED: frozenset({S.SUCCEEDED, S.FAILED, S.TIMED_OUT}),
    },
    OpType.CONTEXT: {
        None: frozenset({S.STARTED, S.SUCCEEDED, S.FAILED}),
        S.STARTED: frozenset({S.SUCCEEDED, S.FAILED}),
    },
    OpType.CHAINED_INVOKE: {
        None: frozenset({S.STARTED, S.FAILED}),
        S.STARTED: frozenset({S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.STOPPED}),
    },
    OpType.EXECUTION: {None: frozenset({S.STARTED})},
}
# What each checkpoint action asks for, per type (absent: the action is invalid for the type).
ACTION_TARGETS: dict[OpType, dict[Action, OpStatus]] = {
    OpType.STEP: {
        Action.START: S.STARTED,
        Action.SUCCEED: S.SUCCEEDED,
        Action.FAIL: S.FAILED,
        Action.RETRY: S.PENDING,
    },
    OpType.WAIT: {Action.START: S.STARTED, Action.CANCEL: S.CANCELLED},
    OpType.CALLBACK: {Action.START: S.STARTED},
    OpType.CONTEXT: {Action.START: S.STARTED, Action.SUCCEED: S.SUCCEEDED, Action.FAIL: S.FAILED},
    OpType.CHAINED_INVOKE: {Action.START: S.STARTED},
    OpType.EXECUTION: {Action.SUCCEED: S.SUCCEEDED, Action.FAIL: S.FAILED},
}


def can_move(kind: OpType, current: OpStatus | None, target: OpStatus) -> bool:
    return target in OP_TRANSITIONS[kind].get(current, frozenset())


def advance(status: ExecutionStatus, target: ExecutionStatus, arn: str) -> ExecutionStatus:
    """The execution's next status, or ``InvalidTransition``."""
    if target not in EXECUTION_TRANSITIONS[status]:
        raise InvalidTransition(arn, status, target)
    return target


def ms(epoch: float) -> int:
    return round(epoch * 1000)


@dataclass(slots=True)
class Operation:
    """One entry of an execution's operation log, as the service keeps it."""

    id: str
    type: OpType
    status: OpStatus
    start: float
    seq: int
    end: float | None = None
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    touched: int = 0
    attempt: int = 0
    next_attempt: float | None = None
    result: str | None = None
    error: dict[str, Any] | None = None
    replay_children: bool | None = None
    scheduled_end: float | None = None
    wait_seconds: int | None = None
    callback_id: str | None = None
    cb_timeout: int = 0
    cb_heartbeat: int = 0
    input_payload: str | None = None
    invoke: dict[str, Any] | None = None

    def move_to(self, target: OpStatus) -> None:
        if not can_move(self.type, self.status, target):
            raise InvalidTransition(f"operation {self.id}", self.status, target)
        self.status = target

    def copy(self) -> Operation:
        clone = Operation(self.id, self.type, self.status, self.start, self.seq)
        for name in Operation.__slots__:
            setattr(clone, name, getattr(self, name))
        if self.invoke is not None:
            clone.invoke = dict(self.invoke)
        return clone

    # -- storage -----------------------------------------------------------

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for name in Operation.__slots__:
            if name in ("touched", "input_payload"):
                continue
            value = getattr(self, name)
            if value is None or (name in ("attempt", "cb_timeout", "cb_heartbeat") and not value):
                continue
            doc[name] = value
        return doc

    @staticmethod
    def from_doc(doc: dict[str, Any]) -> Operation:
        op = Operation(
            doc["id"], OpType(doc["type"]), OpStatus(doc["status"]), doc["start"], doc["seq"]
        )
        for name, value in doc.items():
            if name not in ("id", "type", "status", "start", "seq"):
                setattr(op, name, value)
        return op

    # -- wire --------------------------------------------------------------

    def to_wire(self, *, millis: bool = False) -> dict[str, Any]:
        """The ``Operation`` shape; ``millis`` for the invocation event, seconds for the API."""

        def ts(value: float) -> float | int:
            return ms(value) if millis else round(value, 3)

        wire: dict[str, Any] = {"Id": self.id}
        if self.parent_id:
            wire["ParentId"] = self.parent_id
        if self.name:
            wire["Name"] = self.name
        wire["Type"] = self.type.value
        if self.sub_type:
            wire["SubType"] = self.sub_type
        wire["StartTimestamp"] = ts(self.start)
        if self.end is not None:
            wire["EndTimestamp"] = ts(self.end)
        wire["Status"] = self.status.value
        kind = self.type
        if kind is OpType.EXECUTION:
            wire["ExecutionDetails"] = {"InputPayload": self.input_payload or ""}
        elif kind is OpType.STEP:
            step: dict[str, Any] = {"Attempt": self.attempt}
            if self.next_attempt is not None:
                step["NextAttemptTimestamp"] = ts(self.next_attempt)
            _outcome(step, self)
            wire["StepDetails"] = step
        elif kind is OpType.WAIT:
            if self.scheduled_end is not None:
                wire["WaitDetails"] = {"ScheduledEndTimestamp": ts(self.scheduled_end)}
        elif kind is OpType.CALLBACK:
            callback: dict[str, Any] = {"CallbackId": self.callback_id}
            _outcome(callback, self)
            wire["CallbackDetails"] = callback
        elif kind is OpType.CONTEXT:
            context: dict[str, Any] = {}
            if self.replay_children is not None:
                context["ReplayChildren"] = self.replay_children
            _outcome(context, self)
            if context:
                wire["ContextDetails"] = context
        elif kind is OpType.CHAINED_INVOKE:
            invoke: dict[str, Any] = {}
            _outcome(invoke, self)
            if invoke:
                wire["ChainedInvokeDetails"] = invoke
        return wire


def _outcome(details: dict[str, Any], op: Operation) -> None:
    if op.result is not None:
        details["Result"] = op.result
    if op.error is not None:
        details["Error"] = op.error


@dataclass(slots=True)
class Runtime:
    """Per-process bookkeeping of an execution; never stored (a restart starts afresh)."""

    invocation: int = 0
    checkpoint: int = 0
    invoking: bool = False
    invocation_started: float = 0.0
    request_id: str = ""
    unsent: dict[str, None] = field(default_factory=dict)
    wake: bool = False
    unseen_ids: set[str] = field(default_factory=set)
    last_call: tuple[str, str, dict[str, Any]] | None = None
    failures: int = 0
    idle_pendings: int = 0
    token: str = ""


@dataclass(slots=True)
class Execution:
    """A durable execution: identity, lifecycle, its operation log and its timers."""

    arn: str
    function_name: str
    version: str
    name: str
    exec_id: str
    status: ExecutionStatus
    input_payload: str
    start: float
    config: dict[str, Any]
    timeout_at: float | None
    end: float | None = None
    expire_at: float | None = None
    result: str | None = None
    error: dict[str, Any] | None = None
    parent: tuple[str, str] | None = None
    invoke_wanted: bool = True
    pause: dict[str, Any] | None = None
    trace_id: str | None = None
    ops: dict[str, Operation] = field(default_factory=dict)
    timers: dict[tuple[str, str], float] = field(default_factory=dict)
    op_seq: int = 0
    change_seq: int = 0
    event_seq: int = 0
    rt: Runtime = field(default_factory=Runtime)

    @property
    def closed(self) -> bool:
        return self.status.terminal

    @property
    def function_arn_suffix(self) -> str:
        return f"{self.function_name}:{self.version}"

    def touch(self, op: Operation) -> None:
        """Record a change; the next checkpoint answer carries the operation (O(changes))."""
        self.change_seq += 1
        op.touched = self.change_seq
        self.rt.unsent[op.id] = None

    def pending_work(self) -> bool:
        """Whether the service still owes the handler a change (a timer, callback or invoke)."""
        for op in self.ops.values():
            status, kind = op.status, op.type
            if status is OpStatus.PENDING or status is OpStatus.READY:
                return True
            if status is OpStatus.STARTED and kind in (
                OpType.WAIT,
                OpType.CALLBACK,
                OpType.CHAINED_INVOKE,
            ):
                return True
        return False

    def doc(self) -> dict[str, Any]:
        """The stored document of everything but the identity columns and the input."""
        return {
            "config": self.config,
            "timeout_at": self.timeout_at,
            "result": self.result,
            "error": self.error,
            "parent": list(self.parent) if self.parent else None,
            "pause": self.pause,
            "trace_id": self.trace_id,
            "op_seq": self.op_seq,
        }
