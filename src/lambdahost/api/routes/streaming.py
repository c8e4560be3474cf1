"""InvokeWithResponseStream: the response as an AWS event stream (lambda-wire-protocol.md §5).

Errors found before the stream starts (unknown function, throttling, bad payload) are
ordinary JSON errors. Then the reply is ``200`` with ``Content-Type:
application/vnd.amazon.eventstream``: one ``PayloadChunk`` event per chunk the runtime
streamed (a runtime that does not stream gives one chunk with its whole payload) and a
final ``InvokeComplete`` (``ErrorCode``/``ErrorDetails`` on a function error,
``LogResult`` with ``LogType=Tail``). ``event_message`` is the pure encoder; botocore's
event-stream parser is the reference it is tested against.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambdahost.api.http import Request, Response, empty
from lambdahost.api.router import Router
from lambdahost.api.routes.common import name_and_qualifier
from lambdahost.api.routes.invoke import check_json_payload, decode_client_context
from lambdahost.errors import ApiError, invalid_parameter, request_too_large

if TYPE_CHECKING:
    from lambdahost.app.invoke import InvokeReply
    from lambdahost.app.platform import Platform

EVENT_STREAM = b"application/vnd.amazon.eventstream"
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, CRC, string headers, payload, CRC (big-endian)."""
    head = b"".join(
        struct.pack("!B", len(k))
        + k.encode()
        + b"\x07"
        + struct.pack("!H", len(v.encode()))
        + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack("!II", 12 + len(head) + len(payload) + 4, len(head))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + head + payload
    return message + struct.pack("!I", zlib.crc32(message))


def payload_chunk(data: bytes) -> bytes:
    return event_message(
        {
            ":event-type": "PayloadChunk",
            ":message-type": "event",
            ":content-type": "application/octet-stream",
        },
        data,
    )


def invoke_complete(reply: InvokeReply) -> bytes:
    doc: dict[str, str] = {}
    if reply.function_error:
        try:
            error = json.loads(reply.payload)
        except (ValueError, UnicodeDecodeError):
            error = None
        if isinstance(error, dict):
            doc["ErrorCode"] = str(error.get("errorType") or reply.function_error)
            doc["ErrorDetails"] = str(error.get("errorMessage") or "")
        else:
            doc["ErrorCode"] = reply.function_error
            doc["ErrorDetails"] = reply.payload.decode("utf-8", "replace")
    if reply.log_tail_b64:
        doc["LogResult"] = reply.log_tail_b64
    return event_message(
        {
            ":event-type": "InvokeComplete",
            ":message-type": "event",
            ":content-type": "application/json",
        },
        json.dumps(doc).encode(),
    )


@dataclass
class StreamingResponse(Response):
    stream: AsyncIterator[bytes] | None = field(default=None)


async def send_stream(
    send: Send, response: StreamingResponse, headers: list[tuple[bytes, bytes]]
) -> None:
    """The ASGI side: headers now, then each event as it is produced."""
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.stream is not None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            async for data in response.stream:
                await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _events(
    task: asyncio.Future[InvokeReply], queue: asyncio.Queue[bytes], getter: asyncio.Future[bytes]
) -> AsyncIterator[bytes]:
    streamed = False
    while True:
        if getter.done():
            streamed = True
            yield payload_chunk(getter.result())
            getter = asyncio.ensure_future(queue.get())
            continue
        pending: set[asyncio.Future[Any]] = {task, getter}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
            break
    while not queue.empty():
        streamed = True
        yield payload_chunk(queue.get_nowait())
    try:
        reply = task.result()
    except Exception:
        yield event_message(
            {
                ":event-type": "InvokeComplete",
                ":message-type": "event",
                ":content-type": "application/json",
            },
            b'{"ErrorCode":"ServiceException","ErrorDetails":"internal error"}',
        )
        return
    if not streamed and not reply.function_error and reply.payload:
        yield payload_chunk(reply.payload)
    yield invoke_complete(reply)


def register(router: Router, platform: Platform) -> None:
    invoker = platform.invoker
    settings = platform.settings

    async def invoke_stream(request: Request) -> Response:
        name, qualifier = name_and_qualifier(request)
        kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
        if kind not in ("RequestResponse", "DryRun"):
            raise ApiError(
                "ValidationException",
                f"1 validation error detected: Value '{kind}' at 'invocationType' failed to "
                "satisfy constraint: Member must satisfy enum value set: [RequestResponse, DryRun]",
            )
        body = request.body
        if len(body) > settings.sync_payload_limit:
            raise request_too_large(settings.sync_payload_limit)
        resolved = await invoker.resolve(name, qualifier)
        if platform.durable.is_durable(resolved):
            raise invalid_parameter("Response streaming is not supported for durable functions.")
        if kind == "DryRun":
            return empty(204)
        check_json_payload(body)
        client_context = decode_client_context(request.headers.get("x-amz-client-context"))
        tail = request.headers.get("x-amz-log-type") == "Tail"
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        task = asyncio.ensure_future(
            invoker.invoke_sync(
                resolved,
                body,
                request_id=request.request_id,
                client_context=client_context,
                tail=tail,
                on_chunk=queue.put_nowait,
            )
        )
        getter = asyncio.ensure_future(queue.get())
        first: set[asyncio.Future[Any]] = {task, getter}
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        failure = task.exception() if task.done() else None
        if failure is not None and not getter.done():
            getter.cancel()
            raise failure
        headers = [
            (b"content-type", EVENT_STREAM),
            (b"x-amz-executed-version", resolved.executed_version.encode()),
        ]
        return StreamingResponse(200, b"", headers, stream=_events(task, queue, getter))

    router.add(
        "POST",
        "/2021-11-15/functions/{FunctionName}/response-streaming-invocations",
        invoke_stream,
        "InvokeWithResponseStream",
    )
