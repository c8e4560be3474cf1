"""Routes for Invoke (RequestResponse, Event, DryRun) and the legacy InvokeAsync."""

from __future__ import annotations

import base64
import binascii
import json

from lambdahost.api.http import JSON_TYPE, Request, Response, empty
from lambdahost.api.router import Router
from lambdahost.api.routes.common import name_and_qualifier
from lambdahost.app.platform import Platform
from lambdahost.errors import (
    ApiError,
    invalid_parameter,
    invalid_request_content,
    request_too_large,
)

CLIENT_CONTEXT_LIMIT = 3583


def check_json_payload(body: bytes) -> None:
    if not body:
        return
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request_content(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None


def decode_client_context(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > CLIENT_CONTEXT_LIMIT:
        raise invalid_parameter("Client context must be smaller than 3583 bytes.")
    try:
        text = base64.b64decode(value, validate=True).decode()
        json.loads(text)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_parameter(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return text


def register(router: Router, platform: Platform) -> None:
    invoker = platform.invoker
    settings = platform.settings

    async def invoke(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
        if kind not in ("RequestResponse", "Event", "DryRun"):
            raise ApiError(
                "ValidationException",
                f"1 validation error detected: Value '{kind}' at 'invocationType' failed to "
                "satisfy constraint: Member must satisfy enum value set: "
                "[Event, RequestResponse, DryRun]",
            )
        body = request.body
        limit = settings.async_payload_limit if kind == "Event" else settings.sync_payload_limit
        if len(body) > limit:
            raise request_too_large(limit)
        resolved = await invoker.resolve(name, qualifier)
        if platform.durable.is_durable(resolved):
            return await platform.durable.invoke(request, name, qualifier, resolved)
        if kind == "DryRun":
            return empty(204)
        check_json_payload(body)
        client_context = decode_client_context(request.headers.get("x-amz-client-context"))
        if kind == "Event":
            await invoker.accept_event(request.request_id, name, qualifier, body, client_context)
            return Response(
                202, b"", [(b"x-amz-executed-version", resolved.executed_version.encode())]
            )
        tail = request.headers.get("x-amz-log-type") == "Tail"
        reply = await invoker.invoke_sync(
            resolved, body, request_id=request.request_id, client_context=client_context, tail=tail
        )
        headers = [
            (b"content-type", JSON_TYPE),
            (b"x-amz-executed-version", reply.executed_version.encode()),
        ]
        if reply.function_error:
            headers.append((b"x-amz-function-error", reply.function_error.encode()))
        if reply.log_tail_b64 is not None:
            headers.append((b"x-amz-log-result", reply.log_tail_b64.encode()))
        return Response(200, reply.payload, headers)

    async def invoke_async(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        if len(request.body) > settings.async_payload_limit:
            raise request_too_large(settings.async_payload_limit)
        check_json_payload(request.body)
        await invoker.resolve(name, qualifier)
        await invoker.accept_event(request.request_id, name, qualifier, request.body, None)
        return Response(202, b'{"Status": 202}', [(b"content-type", JSON_TYPE)])

    router.add("POST", "/2015-03-31/functions/{FunctionName}/invocations", invoke, "Invoke")
    router.add(
        "POST", "/2014-11-13/functions/{FunctionName}/invoke-async", invoke_async, "InvokeAsync"
    )
    router.add(
        "POST", "/2014-11-13/functions/{FunctionName}/invoke-async/", invoke_async, "InvokeAsync"
    )
