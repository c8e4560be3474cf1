"""Read models of executions: API shapes, history rendering and the CLI timeline.

Pure. Stored history events keep every payload; ``render_event`` strips them
when a caller sets ``IncludeExecutionData=false``. Timestamps leave here as
epoch seconds, which botocore parses for ``timestamp`` members.
"""

from __future__ import annotations

from typing import Any

from lambdahost.durable.lifecycle import expected_timeout
from lambdahost.durable.model import Execution

_WRAPPERS = ("Input", "Result", "Error", "Reason")


def render_event(event: dict[str, Any], include_data: bool) -> dict[str, Any]:
    if include_data:
        return event
    out = dict(event)
    for key, value in event.items():
        if key.endswith("Details") and isinstance(value, dict):
            details = dict(value)
            for wrapper in _WRAPPERS:
                inner = details.get(wrapper)
                if isinstance(inner, dict) and "Payload" in inner:
                    details[wrapper] = {k: v for k, v in inner.items() if k != "Payload"}
            out[key] = details
    return out


def execution_summary(ex: Execution, function_arn: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "DurableExecutionArn": ex.arn,
        "DurableExecutionName": ex.name,
        "FunctionArn": function_arn,
        "Status": ex.status.value,
        "StartTimestamp": round(ex.start, 3),
    }
    if ex.end is not None:
        item["EndTimestamp"] = round(ex.end, 3)
    return item


def execution_detail(ex: Execution, function_arn: str, include_data: bool) -> dict[str, Any]:
    shape = execution_summary(ex, function_arn)
    if include_data:
        shape["InputPayload"] = ex.input_payload
        if ex.result is not None:
            shape["Result"] = ex.result
        if ex.error is not None:
            shape["Error"] = ex.error
    shape["Version"] = ex.version
    shape["ExecutionDataIncluded"] = include_data
    if ex.trace_id:
        shape["TraceHeader"] = {"XAmznTraceId": ex.trace_id}
    if ex.config:
        shape["DurableConfig"] = {
            k: v
            for k, v in ex.config.items()
            if k in ("ExecutionTimeout", "RetentionPeriodInDays", "KMSKeyArn")
        }
    if ex.pause:
        pause: dict[str, Any] = {
            "PauseRequestTimestamp": round(float(ex.pause["PauseRequestTimestamp"]), 3),
            "ExecutionTimeoutPaused": bool(ex.pause.get("ExecutionTimeoutPaused")),
        }
        if include_data and ex.pause.get("Reason") is not None:
            pause["Reason"] = ex.pause["Reason"]
        shape["PauseDetails"] = pause
    expected = expected_timeout(ex)
    if expected is not None:
        shape["ExpectedExecutionTimeoutTimestamp"] = round(expected, 3)
    return shape


def _summary(event: dict[str, Any]) -> str:
    kind = event["EventType"]
    details = event.get(f"{kind}Details") or {}
    parts: list[str] = []
    for key in ("Duration", "CallbackId", "FunctionName", "DurableExecutionArn", "RequestId"):
        if key in details:
            parts.append(f"{key}={details[key]}")
    retry = details.get("RetryDetails") or {}
    if "CurrentAttempt" in retry:
        parts.append(f"attempt={retry['CurrentAttempt']}")
    if "NextAttemptDelaySeconds" in retry:
        parts.append(f"retry in {retry['NextAttemptDelaySeconds']}s")
    for key in ("Result", "Input"):
        inner = details.get(key)
        if isinstance(inner, dict) and inner.get("Payload") is not None:
            text = str(inner["Payload"])
            parts.append(f"{key.lower()}={text[:60]}{'...' if len(text) > 60 else ''}")
    error = details.get("Error")
    if isinstance(error, dict) and isinstance(error.get("Payload"), dict):
        payload = error["Payload"]
        parts.append(f"error={payload.get('ErrorType', '')}: {payload.get('ErrorMessage', '')}")
    return ", ".join(parts)


def _seconds(value: Any) -> float:
    """Epoch seconds from a stored event (a number) or a boto3 one (a datetime)."""
    stamp = getattr(value, "timestamp", None)
    return float(stamp()) if callable(stamp) else float(value)


def timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History as rows for a terminal: seconds since the first event, what, which op, details.

    Accepts events as stored or as boto3's GetDurableExecutionHistory returns them.
    """
    if not events:
        return []
    origin = _seconds(events[0]["EventTimestamp"])
    rows = []
    for event in events:
        rows.append(
            {
                "EventId": event["EventId"],
                "Offset": round(_seconds(event["EventTimestamp"]) - origin, 3),
                "EventType": event["EventType"],
                "Name": event.get("Name") or event.get("Id", ""),
                "SubType": event.get("SubType", ""),
                "Details": _summary(event),
            }
        )
    return rows
