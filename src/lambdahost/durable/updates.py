"""Parsing and validating the ``Updates`` of a CheckpointDurableExecution request.

Pure. Shape errors use the model's constraint wording (``ValidationException``);
payload limits use the service's own ``InvalidParameterValueException`` messages
(as recorded from the service: a step result or wait-for-condition state is
limited to 256 KiB, a chained-invoke input to 1 MiB). State-dependent rules
(transitions, parents, duplicates) are checked in ``journal`` while applying.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdahost.core.arns import constraint_error, require_int_in_range
from lambdahost.durable.model import Action, OpType
from lambdahost.errors import ApiError, invalid_parameter

STEP_PAYLOAD_LIMIT = 262_144
CONTEXT_PAYLOAD_LIMIT = 262_144
INVOKE_PAYLOAD_LIMIT = 1_048_576
OPERATION_PAYLOAD_LIMIT = 6_291_456
ERROR_LIMIT = 1_048_576
MAX_DELAY = 31_622_400
MAX_CALLBACK_TIMEOUT = 99_999_999

_ID_RE = re.compile(r"[a-zA-Z0-9_-]+")
_NAME_RE = re.compile(r"[\x20-\x7E]+")
_SUBTYPE_RE = re.compile(r"[a-zA-Z0-9_-]+")


@dataclass(frozen=True, slots=True)
class Update:
    """One validated ``OperationUpdate``."""

    id: str
    type: OpType
    action: Action
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: dict[str, Any] | None = None
    replay_children: bool | None = None
    step_delay: int | None = None
    has_step_options: bool = False
    wait_seconds: int | None = None
    cb_timeout: int = 0
    cb_heartbeat: int = 0
    invoke_function: str | None = None
    tenant_id: str | None = None
    trace_id: str | None = None


def _member(index: int, name: str) -> str:
    return f"updates.{index}.member.{name}"


def _string(
    raw: Mapping[str, Any],
    key: str,
    index: int,
    pattern: re.Pattern[str] | None,
    pattern_text: str,
    high: int,
) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if (
        isinstance(value, str)
        and 1 <= len(value) <= high
        and (pattern is None or pattern.fullmatch(value))
    ):
        return value
    member = _member(index, key[0].lower() + key[1:])
    if not isinstance(value, str):
        raise constraint_error(value, member, "Member must be a string")
    if not 1 <= len(value) <= high:
        raise constraint_error(
            value,
            member,
            f"Member must have length less than or equal to {high}"
            if value
            else "Member must have length greater than or equal to 1",
        )
    if pattern is not None and not pattern.fullmatch(value):
        raise constraint_error(
            value, member, f"Member must satisfy regular expression pattern: {pattern_text}"
        )
    return value


def _int(value: Any, member: str, low: int, high: int) -> int:
    return require_int_in_range(value, member, low, high)


def _enum(value: Any, member: str, allowed: type[OpType] | type[Action]) -> Any:
    try:
        return allowed(value)
    except ValueError:
        names = ", ".join(m.value for m in allowed)
        raise constraint_error(
            value, member, f"Member must satisfy enum value set: [{names}]"
        ) from None


def parse_error(raw: Any, member: str = "error") -> dict[str, Any] | None:
    """An ``ErrorObject``: strings and a list of strings, kept as sent."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise constraint_error(raw, member, "Member must be a structure")
    error: dict[str, Any] = {}
    for key in ("ErrorMessage", "ErrorType", "ErrorData"):
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise constraint_error(
                    value, f"{member}.{key[0].lower()}{key[1:]}", "Member must be a string"
                )
            error[key] = value
    trace = raw.get("StackTrace")
    if trace is not None:
        if not isinstance(trace, list) or not all(isinstance(t, str) for t in trace):
            raise constraint_error(
                trace, f"{member}.stackTrace", "Member must be a list of strings"
            )
        error["StackTrace"] = list(trace)
    size = sum(len(str(v).encode()) for v in error.values())
    if size > ERROR_LIMIT:
        raise invalid_parameter(
            f"Error object size must be less than or equal to {ERROR_LIMIT} bytes."
        )
    return error


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _check_payload(update_type: OpType, payload: str, index: int) -> None:
    size = _utf8_len(payload)
    if update_type is OpType.STEP and size > STEP_PAYLOAD_LIMIT:
        raise invalid_parameter(
            f"STEP output payload size must be less than or equal to {STEP_PAYLOAD_LIMIT} bytes."
        )
    if update_type is OpType.CONTEXT and size > CONTEXT_PAYLOAD_LIMIT:
        raise invalid_parameter(
            "CONTEXT output payload size must be less than or equal to "
            f"{CONTEXT_PAYLOAD_LIMIT} bytes."
        )
    if update_type is OpType.CHAINED_INVOKE and size > INVOKE_PAYLOAD_LIMIT:
        raise invalid_parameter(
            "CHAINED_INVOKE input payload size must be less than or equal to "
            f"{INVOKE_PAYLOAD_LIMIT} bytes."
        )
    if len(payload) > OPERATION_PAYLOAD_LIMIT:
        raise constraint_error(
            "***",
            _member(index, "payload"),
            f"Member must have length less than or equal to {OPERATION_PAYLOAD_LIMIT}",
        )


def parse_update(raw: Any, index: int) -> Update:
    if not isinstance(raw, Mapping):
        raise constraint_error(raw, f"updates.{index}.member", "Member must be a structure")
    for key in ("Id", "Type", "Action"):
        if raw.get(key) is None:
            raise constraint_error(
                None, _member(index, key[0].lower() + key[1:]), "Member must not be null"
            )
    op_id = _string(raw, "Id", index, _ID_RE, "[a-zA-Z0-9-_]+", 64)
    assert op_id is not None
    kind: OpType = _enum(raw["Type"], _member(index, "type"), OpType)
    action: Action = _enum(raw["Action"], _member(index, "action"), Action)
    payload = raw.get("Payload")
    if payload is not None:
        if not isinstance(payload, str):
            raise constraint_error(payload, _member(index, "payload"), "Member must be a string")
        _check_payload(kind, payload, index)
    fields: dict[str, Any] = {
        "parent_id": _string(raw, "ParentId", index, _ID_RE, "[a-zA-Z0-9-_]+", 64),
        "name": _string(raw, "Name", index, _NAME_RE, "[\\x20-\\x7E]+", 256),
        "sub_type": _string(raw, "SubType", index, _SUBTYPE_RE, "[a-zA-Z0-9-_]+", 32),
        "payload": payload,
        "error": parse_error(raw.get("Error"), _member(index, "error")),
    }
    context = raw.get("ContextOptions")
    if isinstance(context, Mapping) and context.get("ReplayChildren") is not None:
        fields["replay_children"] = bool(context["ReplayChildren"])
    step = raw.get("StepOptions")
    if isinstance(step, Mapping):
        fields["has_step_options"] = True
        if step.get("NextAttemptDelaySeconds") is not None:
            fields["step_delay"] = _int(
                step["NextAttemptDelaySeconds"],
                _member(index, "stepOptions.nextAttemptDelaySeconds"),
                1,
                MAX_DELAY,
            )
    wait = raw.get("WaitOptions")
    if isinstance(wait, Mapping) and wait.get("WaitSeconds") is not None:
        fields["wait_seconds"] = _int(
            wait["WaitSeconds"], _member(index, "waitOptions.waitSeconds"), 1, MAX_DELAY
        )
    callback = raw.get("CallbackOptions")
    if isinstance(callback, Mapping):
        for key, attr in (
            ("TimeoutSeconds", "cb_timeout"),
            ("HeartbeatTimeoutSeconds", "cb_heartbeat"),
        ):
            if callback.get(key) is not None:
                fields[attr] = _int(
                    callback[key],
                    _member(index, f"callbackOptions.{key[0].lower()}{key[1:]}"),
                    0,
                    MAX_CALLBACK_TIMEOUT,
                )
    invoke = raw.get("ChainedInvokeOptions")
    if isinstance(invoke, Mapping):
        target = invoke.get("FunctionName")
        if not isinstance(target, str) or not 1 <= len(target) <= 256:
            raise constraint_error(
                target,
                _member(index, "chainedInvokeOptions.functionName"),
                "Member must have length less than or equal to 256",
            )
        fields["invoke_function"] = target
        tenant = invoke.get("TenantId")
        fields["tenant_id"] = tenant if isinstance(tenant, str) else None
        trace = invoke.get("XAmznTraceId")
        fields["trace_id"] = trace if isinstance(trace, str) else None
    return Update(op_id, kind, action, **fields)


def parse_updates(raw: Any) -> list[Update]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError("SerializationException", "Updates must be a list", 400)
    return [parse_update(item, index + 1) for index, item in enumerate(raw)]
