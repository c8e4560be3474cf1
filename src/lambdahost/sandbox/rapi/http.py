"""A small HTTP/1.1 server protocol for the per-environment APIs (httptools parser).

What the Runtime API needs and no more: keep-alive, ``Content-Length`` and chunked
request bodies (with trailers, for streamed responses), long-held requests (``/next``
is answered whenever an event arrives, never timed out) and requests answered one at a
time per connection, in order. The application (``server.py``) gets ``begin`` when a
request's headers are in (it may return a sink that receives the body as it arrives,
instead of buffering it), ``handle`` when the request is complete and ``closed`` when
the connection goes away; it answers with ``Connection.respond``.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

import httptools

_REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}

BodySink = Callable[[bytes], None]


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytearray = field(default_factory=bytearray)
    body_size: int = 0  # bytes received, including those not kept (over the limit)
    trailers: dict[str, str] = field(default_factory=dict)
    streamed: bool = False  # the body went to a sink instead of ``body``

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class App(Protocol):
    def begin(self, request: HttpRequest, conn: Connection) -> BodySink | None: ...

    def handle(self, request: HttpRequest, conn: Connection) -> None: ...

    def closed(self, conn: Connection) -> None: ...


def render(
    status: int, body: bytes, headers: dict[str, str] | None = None, keep_alive: bool = True
) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection(asyncio.Protocol):
    """One client connection; requests are answered in arrival order."""

    def __init__(self, app: App, body_limit: int) -> None:
        self.app = app
        self.body_limit = body_limit
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: collections.deque[HttpRequest] = collections.deque()
        self._current: HttpRequest | None = None
        self._sink: BodySink | None = None
        self._url = b""
        self._in_trailers = False
        self._keep_alive = True
        self._pending_headers: dict[str, str] = {}
        self.open = False

    # -- asyncio.Protocol -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.open = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400)
        except httptools.HttpParserError:
            self._fail(400)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.queue.clear()
        self.app.closed(self)

    # -- httptools callbacks ----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._in_trailers = False
        self._sink = None
        self._pending_headers = {}

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        req = self._current
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if self._in_trailers and req is not None:
            req.trailers[key] = text
        else:
            self._pending_headers[key] = text

    def on_headers_complete(self) -> None:
        method = self.parser.get_method().decode("latin-1")
        path = self._url.decode("latin-1").split("?", 1)[0]
        req = HttpRequest(method, path, self._pending_headers)
        self._pending_headers = {}
        self._current = req
        self._in_trailers = True  # any header callback from here on is a trailer
        self._keep_alive = self.parser.should_keep_alive()
        if req.headers.get("expect", "").lower() == "100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits 1 s for it
        self._sink = self.app.begin(req, self)
        if self._sink is not None:
            req.streamed = True

    def on_body(self, body: bytes) -> None:
        req = self._current
        if req is None:
            return
        req.body_size += len(body)
        if self._sink is not None:
            self._sink(body)
        elif len(req.body) + len(body) <= self.body_limit:
            req.body += body

    def on_message_complete(self) -> None:
        req = self._current
        self._current = None
        self._sink = None
        if req is None:
            return
        self.queue.append(req)
        if len(self.queue) == 1:
            self.app.handle(req, self)

    # -- answering --------------------------------------------------------------------------------
    def respond(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        """Answer the oldest unanswered request, then hand over the next one."""
        if not self.queue:
            return
        self.queue.popleft()
        if self.transport is not None and self.open:
            self.transport.write(render(status, body, headers, self._keep_alive))
            if not self._keep_alive:
                self.transport.close()
                return
        if self.queue:
            self.app.handle(self.queue[0], self)

    def respond_json(self, status: int, text: str) -> None:
        self.respond(status, text.encode(), {"Content-Type": "application/json"})

    def _fail(self, status: int) -> None:
        if self.transport is not None:
            self.transport.write(render(status, b"", None, keep_alive=False))
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def error_body(error_type: str, message: str) -> str:
    """The Runtime API's error document (as RIE words its replies)."""
    import json

    return json.dumps({"errorMessage": message, "errorType": error_type})
