"""Invoke of a durable function: qualification, execution names, starting and answering.

An Invoke must be qualified (a version, an alias resolved to its version, or
``$LATEST``); the execution name (``X-Amz-Durable-Execution-Name``) is an
idempotency key per function: the same name and input return the existing
execution, a different input is a conflict. ``Event`` answers 202 as soon as
the execution is on disk; ``RequestResponse`` waits for it to close and
answers with its result (or the error, as a function error).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lambdahost.api.http import JSON_TYPE, Request, Response, empty
from lambdahost.app.functions import Resolved
from lambdahost.durable.ids import ExecutionArn, validate_name
from lambdahost.durable.lifecycle import start_execution
from lambdahost.durable.model import Execution, ExecutionStatus
from lambdahost.errors import ApiError, StoreConflict, invalid_parameter, invalid_request_content

if TYPE_CHECKING:
    from lambdahost.durable.engine import DurableEngine

UNQUALIFIED = "You cannot invoke a durable function using an unqualified ARN."


async def invoke(
    engine: DurableEngine, request: Request, qualifier: str | None, resolved: Resolved
) -> Response:
    if qualifier is None:
        raise invalid_parameter(UNQUALIFIED)
    kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
    given = request.headers.get("x-amz-durable-execution-name")
    exec_name = validate_name(given) if given is not None else engine.new_id()
    try:
        text = request.body.decode()
        if text.strip():
            json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request_content(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    if kind == "DryRun":
        return empty(204)
    ex = await start_or_reuse(engine, resolved, exec_name, text)
    headers = [
        (b"x-amz-executed-version", ex.version.encode()),
        (b"x-amz-durable-execution-arn", ex.arn.encode()),
    ]
    if kind == "Event":
        return Response(202, b"", headers)
    final = await engine.wait_closed(ex.arn, engine.sync_wait_s)
    return answer(ex.arn, final, headers)


def answer(arn: str, final: Execution | None, headers: list[tuple[bytes, bytes]]) -> Response:
    """The synchronous Invoke response for a (normally closed) execution."""
    headers = [*headers, (b"content-type", JSON_TYPE)]
    if final is None or not final.closed:
        headers.append((b"x-amz-function-error", b"Unhandled"))
        body = {
            "errorType": "DurableExecutionStillRunning",
            "errorMessage": f"The durable execution {arn} is still running; "
            "poll GetDurableExecution for its result.",
        }
        return Response(200, json.dumps(body).encode(), headers)
    if final.status is ExecutionStatus.SUCCEEDED:
        return Response(200, (final.result or "").encode(), headers)
    headers.append((b"x-amz-function-error", b"Unhandled"))
    error = final.error or {}
    body = {
        "errorType": error.get("ErrorType") or final.status.value,
        "errorMessage": error.get("ErrorMessage") or f"Durable execution {final.status.value}",
    }
    if error.get("StackTrace"):
        body["stackTrace"] = error["StackTrace"]
    return Response(200, json.dumps(body).encode(), headers)


async def start_or_reuse(
    engine: DurableEngine, resolved: Resolved, exec_name: str, text: str
) -> Execution:
    function = resolved.row.function_name
    for _ in range(2):
        existing = await engine.writer.read(lambda r: r.find_by_name(function, exec_name))
        if existing is not None:
            if existing.input_payload != text:
                raise ApiError(
                    "DurableExecutionAlreadyStartedException",
                    f"A durable execution named {exec_name} was already started for "
                    f"function {function} with a different input.",
                    409,
                    message_key="Message",
                )
            found = await engine.get(existing.arn)
            assert found is not None
            return found
        settings = engine.platform.settings
        arn = ExecutionArn(
            engine.platform.arns.partition,
            settings.region,
            settings.account_id,
            function,
            resolved.executed_version,
            exec_name,
            engine.new_id(),
        )
        ex, ch = start_execution(
            arn,
            input_payload=text,
            config=dict(resolved.row.config["DurableConfig"]),
            now=engine.now(),
        )
        try:
            await engine.commit(ch)
        except StoreConflict:
            continue  # a concurrent Invoke with the same name won: answer with its execution
        return ex
    raise ApiError(
        "ServiceException", "Could not start the durable execution.", 500, message_key="Message"
    )
