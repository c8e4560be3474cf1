"""Invocation records sent to async destinations, in Lambda's format.

``{"version":"1.0","timestamp":...,"requestContext":{requestId, functionArn,
condition, approximateInvokeCount},"requestPayload":...,"responseContext":
{statusCode, executedVersion, functionError?},"responsePayload":...}``.
Payloads are embedded as JSON when they parse, else as strings.
"""

from __future__ import annotations

import json
from typing import Any

from lambdahost.core.clock import iso_millis


def _embed(payload: bytes | None) -> Any:
    if payload is None:
        return None
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace")


def invocation_record(
    *,
    now: float,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    request_payload: bytes,
    executed_version: str | None,
    function_error: str | None,
    response_payload: bytes | None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_millis(now),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": _embed(request_payload) if request_payload else {},
    }
    if invoke_count > 0 and executed_version is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version}
        if function_error:
            context["functionError"] = function_error
        record["responseContext"] = context
        record["responsePayload"] = _embed(response_payload)
    return record


def dlq_attributes(
    request_id: str, status_code: int, error_message: str
) -> dict[str, dict[str, str]]:
    """Message attributes of a dead-letter message (SQS shape)."""
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(status_code)},
        "ErrorMessage": {"DataType": "String", "StringValue": error_message[:1024]},
    }
