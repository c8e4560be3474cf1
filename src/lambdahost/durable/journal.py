"""CheckpointDurableExecution as a pure function: token chain, batch rules, transitions.

``checkpoint`` validates the token, completes due timers (also on ``Updates: []``,
which is how map/parallel branches resume inside a running invocation), applies
the updates in order on copies of the touched operations, and answers with every
operation the handler has not seen yet. Any rule broken anywhere in the batch
rejects the whole batch and leaves the execution unchanged. The engine resolves
chained-invoke targets beforehand (I/O) and passes them in as ``Target``s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdahost.durable import changes as C
from lambdahost.durable.changes import Changes
from lambdahost.durable.ids import ExecutionArn, decode_token, encode_token, invalid_token
from lambdahost.durable.lifecycle import fire_due, start_execution
from lambdahost.durable.model import (
    ACTION_TARGETS,
    Action,
    Execution,
    ExecutionStatus,
    Operation,
    OpStatus,
    OpType,
    advance,
    can_move,
)
from lambdahost.durable.updates import Update
from lambdahost.errors import ApiError, invalid_parameter


@dataclass(frozen=True)
class Target:
    """A resolved chained-invoke target (or why it cannot be invoked)."""

    function_name: str
    version: str = ""
    durable: bool = False
    config: Mapping[str, Any] | None = None
    qualifier: str | None = None
    error: dict[str, Any] | None = None


@dataclass
class CheckpointResult:
    response: dict[str, Any]
    changes: Changes | None


def _no_token(ex: Execution) -> dict[str, Any]:
    """The answer without a token: every operation the handler has not seen, in log order."""
    unsent = ex.rt.unsent
    found = [ex.ops[op_id] for op_id in unsent if op_id in ex.ops]
    unsent.clear()
    if len(found) > 1:
        found.sort(key=lambda op: op.seq)
    return {"NewExecutionState": {"Operations": [op.to_wire() for op in found]}}


def checkpoint(
    ex: Execution,
    *,
    token: str,
    client_token: str | None,
    updates: list[Update],
    now: float,
    boot: int,
    targets: Mapping[str, Target],
    new_id: Callable[[], str],
    new_callback_id: Callable[[], str],
) -> CheckpointResult:
    rt = ex.rt
    if (
        rt.last_call is not None
        and client_token
        and rt.last_call[0] == client_token
        and rt.last_call[1] == token
    ):
        return CheckpointResult(rt.last_call[2], None)
    if token != rt.token or not rt.invoking:
        if decode_token(token) is None:
            raise invalid_token("the token is malformed.")
        raise invalid_token(
            "the token is not the latest token of a running invocation of this execution."
        )
    if ex.closed:
        return CheckpointResult(_no_token(ex), None)
    ch = Changes(ex)
    saved = (ex.event_seq, ex.change_seq, ex.op_seq)
    saved_unsent = dict(rt.unsent)
    try:
        working: dict[str, Operation] = {}
        fire_due(ex, ch, now, working)
        _apply_all(ex, ch, updates, now, working, targets, new_id, new_callback_id)
    except ApiError:
        ex.event_seq, ex.change_seq, ex.op_seq = saved
        rt.unsent = saved_unsent
        raise
    C.commit(ex, ch)
    if ex.closed:
        response = _no_token(ex)
    elif ex.status is ExecutionStatus.PAUSING:
        # The pause takes effect at this checkpoint: keep what it carried, end the invocation.
        ex.status = advance(ex.status, ExecutionStatus.PAUSED, ex.arn)
        ch.row = True
        response = _no_token(ex)
    else:
        rt.checkpoint += 1
        response = _no_token(ex)
        rt.token = encode_token(boot, ex.arn, rt.invocation, rt.checkpoint)
        response["CheckpointToken"] = rt.token
    if client_token:
        rt.last_call = (client_token, token, response)
    return CheckpointResult(response, None if ch.empty() else ch)


def _apply_all(
    ex: Execution,
    ch: Changes,
    updates: list[Update],
    now: float,
    working: dict[str, Operation],
    targets: Mapping[str, Target],
    new_id: Callable[[], str],
    new_callback_id: Callable[[], str],
) -> None:
    executions = [u for u in updates if u.type is OpType.EXECUTION]
    if len(executions) > 1:
        raise invalid_parameter("Cannot checkpoint multiple EXECUTION updates.")
    if executions and updates[-1].type is not OpType.EXECUTION:
        raise invalid_parameter("EXECUTION checkpoint must be the last update.")
    last_seen: dict[str, Update] = {}
    started: dict[str, Update] = {}
    for update in updates:
        previous = last_seen.get(update.id)
        if previous is not None and not (
            previous.type in (OpType.STEP, OpType.CONTEXT)
            and previous.action is Action.START
            and update.action is not Action.START
        ):
            raise invalid_parameter("Cannot checkpoint multiple operations with the same ID.")
        if update.parent_id is not None:
            parent = working.get(update.parent_id) or ex.ops.get(update.parent_id)
            parent_type = parent.type if parent is not None else None
            if parent is None and update.parent_id in started:
                parent_type = started[update.parent_id].type
            if parent_type is not OpType.CONTEXT:
                raise invalid_parameter("Invalid parent operation id.")
        if update.action is Action.START:
            started[update.id] = update
        last_seen[update.id] = update
        if update.type is OpType.EXECUTION:
            _apply_execution(ex, ch, update, now)
        else:
            _apply(ex, ch, update, now, working, targets, new_id, new_callback_id)


def _apply_execution(ex: Execution, ch: Changes, update: Update, now: float) -> None:
    if update.action is Action.SUCCEED:
        if update.error is not None:
            raise invalid_parameter("Cannot provide an Error for SUCCEED action.")
        C.close(ex, ch, ExecutionStatus.SUCCEEDED, now, result=update.payload or "")
    elif update.action is Action.FAIL:
        if update.payload is not None:
            raise invalid_parameter("Cannot provide a Payload for FAIL action.")
        C.close(ex, ch, ExecutionStatus.FAILED, now, error=update.error or {})
    else:
        raise invalid_parameter("Invalid EXECUTION action.")


def _check_consistent(op: Operation, update: Update) -> None:
    if update.type is not op.type:
        raise invalid_parameter("Inconsistent operation type.")
    if update.sub_type is not None and update.sub_type != op.sub_type:
        raise invalid_parameter("Inconsistent operation subtype.")
    if update.name is not None and update.name != op.name:
        raise invalid_parameter("Inconsistent operation name.")
    if update.parent_id is not None and update.parent_id != op.parent_id:
        raise invalid_parameter("Inconsistent parent operation id.")


def _apply(
    ex: Execution,
    ch: Changes,
    update: Update,
    now: float,
    working: dict[str, Operation],
    targets: Mapping[str, Target],
    new_id: Callable[[], str],
    new_callback_id: Callable[[], str],
) -> None:
    kind, action = update.type, update.action
    current = working.get(update.id)
    if current is None and update.id in ex.ops:
        current = working[update.id] = ex.ops[update.id].copy()
    if current is not None:
        _check_consistent(current, update)
    target = ACTION_TARGETS[kind].get(action)
    if target is None:
        raise invalid_parameter(f"Invalid action for {kind.value} operation.")
    if not can_move(kind, current.status if current else None, target):
        state = current.status.value if current else "nonexistent"
        raise invalid_parameter(
            f"Invalid current {kind.value} state to {action.value.lower()} ({state})."
        )
    if action is Action.FAIL and update.payload is not None:
        raise invalid_parameter("Cannot provide a Payload for FAIL action.")
    if action is Action.SUCCEED and update.error is not None:
        raise invalid_parameter("Cannot provide an Error for SUCCEED action.")
    if current is None:
        ex.op_seq += 1
        current = Operation(
            update.id,
            kind,
            target,
            now,
            ex.op_seq,
            parent_id=update.parent_id,
            name=update.name,
            sub_type=update.sub_type,
        )
        working[update.id] = current
    else:
        current.move_to(target)
    op = current
    if kind is OpType.STEP:
        _step(ex, ch, op, update, now)
    elif kind is OpType.CONTEXT:
        if action is Action.START:
            C.event(ex, ch, "ContextStarted", now, op)
        elif action is Action.SUCCEED:
            op.end, op.result, op.replay_children = now, update.payload, update.replay_children
            C.event(ex, ch, "ContextSucceeded", now, op, {"Result": C.data(update.payload)})
        else:
            op.end, op.error = now, update.error or {}
            C.event(ex, ch, "ContextFailed", now, op, {"Error": C.data(op.error)})
    elif kind is OpType.WAIT:
        _wait(ex, ch, op, update, now)
    elif kind is OpType.CALLBACK:
        op.callback_id = new_callback_id()
        op.cb_timeout, op.cb_heartbeat = update.cb_timeout, update.cb_heartbeat
        if op.cb_timeout:
            C.set_timer(ch, op.id, C.CB_TIMEOUT, now + op.cb_timeout)
        if op.cb_heartbeat:
            C.set_timer(ch, op.id, C.CB_HEARTBEAT, now + op.cb_heartbeat)
        ch.callbacks.append((op.callback_id, op.id))
        details: dict[str, Any] = {"CallbackId": op.callback_id}
        if op.cb_timeout:
            details["Timeout"] = op.cb_timeout
        if op.cb_heartbeat:
            details["HeartbeatTimeout"] = op.cb_heartbeat
        C.event(ex, ch, "CallbackStarted", now, op, details)
    else:
        _chained(ex, ch, op, update, now, targets, new_id)
    C.changed(ex, ch, op)


def _step(ex: Execution, ch: Changes, op: Operation, update: Update, now: float) -> None:
    action = update.action
    if action is Action.START:
        op.next_attempt = None
        C.event(ex, ch, "StepStarted", now, op)
        return
    op.attempt += 1
    if action is Action.SUCCEED:
        op.end, op.result, op.error = now, update.payload, None
        op.next_attempt = None
        C.event(
            ex,
            ch,
            "StepSucceeded",
            now,
            op,
            {"Result": C.data(update.payload), "RetryDetails": {"CurrentAttempt": op.attempt}},
        )
    elif action is Action.FAIL:
        op.end, op.error, op.next_attempt = now, update.error or {}, None
        C.event(
            ex,
            ch,
            "StepFailed",
            now,
            op,
            {"Error": C.data(op.error), "RetryDetails": {"CurrentAttempt": op.attempt}},
        )
    else:
        if not update.has_step_options or update.step_delay is None:
            raise invalid_parameter("Invalid StepOptions for the given action.")
        if update.error is not None and update.payload is not None:
            raise invalid_parameter("Cannot provide both error and payload to RETRY a STEP.")
        op.next_attempt = now + update.step_delay
        if update.payload is not None:
            op.result = update.payload
        op.error = update.error
        retry = {"CurrentAttempt": op.attempt, "NextAttemptDelaySeconds": update.step_delay}
        if update.payload is not None:
            C.event(
                ex,
                ch,
                "StepSucceeded",
                now,
                op,
                {"Result": C.data(update.payload), "RetryDetails": retry},
            )
        else:
            C.event(
                ex,
                ch,
                "StepFailed",
                now,
                op,
                {"Error": C.data(update.error or {}), "RetryDetails": retry},
            )
        C.set_timer(ch, op.id, C.RETRY, op.next_attempt)


def _wait(ex: Execution, ch: Changes, op: Operation, update: Update, now: float) -> None:
    if update.action is Action.START:
        seconds = update.wait_seconds or 1
        op.wait_seconds = seconds
        op.scheduled_end = now + seconds
        C.set_timer(ch, op.id, C.WAIT, op.scheduled_end)
        C.event(
            ex,
            ch,
            "WaitStarted",
            now,
            op,
            {"Duration": seconds, "ScheduledEndTimestamp": op.scheduled_end},
        )
    else:
        op.end = now
        C.del_timer(ex, ch, op.id, C.WAIT)
        details = {"Error": C.data(update.error)} if update.error else {}
        C.event(ex, ch, "WaitCancelled", now, op, details)


def _chained(
    ex: Execution,
    ch: Changes,
    op: Operation,
    update: Update,
    now: float,
    targets: Mapping[str, Target],
    new_id: Callable[[], str],
) -> None:
    if update.invoke_function is None:
        raise invalid_parameter(
            "Update for CHAINED_INVOKE operation requires ChainedInvokeOptions."
        )
    target = targets.get(update.invoke_function)
    if target is None:
        target = Target(
            update.invoke_function,
            error={
                "ErrorType": "ResourceNotFoundException",
                "ErrorMessage": f"Function not found: {update.invoke_function}",
            },
        )
    details: dict[str, Any] = {"FunctionName": update.invoke_function}
    if update.tenant_id:
        details["TenantId"] = update.tenant_id
    details["Input"] = C.data(update.payload or "")
    op.invoke = {"function": update.invoke_function, "input": update.payload or ""}
    if target.error is not None:
        C.event(ex, ch, "ChainedInvokeStarted", now, op, details)
        op.move_to(OpStatus.FAILED)
        op.end, op.error = now, target.error
        C.event(ex, ch, "ChainedInvokeFailed", now, op, {"Error": C.data(target.error)})
        return
    details["ExecutedVersion"] = target.version
    op.invoke.update(
        {"name": target.function_name, "version": target.version, "qualifier": target.qualifier}
    )
    if target.durable:
        here = _arn_parts(ex.arn)
        child_id = new_id()
        child_arn = ExecutionArn(
            here.partition,
            here.region,
            here.account,
            target.function_name,
            target.version,
            child_id,
            child_id,
        )
        _child, child_changes = start_execution(
            child_arn,
            input_payload=update.payload or "",
            config=dict((target.config or {}).get("DurableConfig") or {}),
            now=now,
            parent=(ex.arn, op.id),
            trace_id=update.trace_id,
        )
        ch.children.append(child_changes)
        op.invoke["child"] = str(child_arn)
        details["DurableExecutionArn"] = str(child_arn)
    else:
        C.set_timer(ch, op.id, C.TARGET, now)
        ch.targets.append(op.id)
    C.event(ex, ch, "ChainedInvokeStarted", now, op, details)


def _arn_parts(arn: str) -> ExecutionArn:
    from lambdahost.durable.ids import parse_arn

    return parse_arn(arn)
