"""The routes of one environment's Runtime, Extensions and Telemetry APIs.

``RuntimeApiServer`` listens on its own 127.0.0.1 port (``AWS_LAMBDA_RUNTIME_API``),
turns requests into calls on the pure tables (``state.py``, ``extensions.py``) and
reports what happened to its ``Owner`` (the environment's session, ``exec_env.py``),
which decides about invocations, timers and the environment's life. Replies follow
what the real clients expect (lambda-wire-protocol.md §8, §9): 202
``{"status":"OK"}`` for accepted posts; 400 ``InvalidRequestID`` for a response to an
unknown or already answered request id; 413 for an oversized response; 403 for a
second ``/init/error`` in multi-concurrency mode; ``/next`` is held until an event is
there, never timed out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import time
import uuid
from typing import Any, Protocol

from lambdahost.sandbox.rapi.extensions import ExtensionError, ExtensionRegistry
from lambdahost.sandbox.rapi.http import BodySink, Connection, HttpRequest, error_body
from lambdahost.sandbox.rapi.state import InvocationTable, Pairs, PendingEvent, Settle
from lambdahost.sandbox.rapi.telemetry import SubscriptionError, TelemetryHub, parse_subscription

RESPONSE_LIMIT = 6 * 1024 * 1024 + 100  # what Lambda accepts from a runtime (6 MiB + 100 bytes)
_RT = "/2018-06-01/runtime/"
_INV = _RT + "invocation/"
_EXT = "/2020-01-01/extension/"
_ACCEPTED = '{"status":"OK"}'
_MODE = "lambda-runtime-function-response-mode"
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"


class Owner(Protocol):
    """What the session is told; see ``exec_env.ExecSession``."""

    def on_next(self) -> None: ...
    def on_delivered(self, event: PendingEvent, deadline_ms: int) -> None: ...
    def on_response(self, request_id: str, body: bytes, content_type: str | None) -> None: ...
    def on_error(self, request_id: str, payload: bytes, error_type: str) -> None: ...
    def on_init_error(self, payload: bytes, error_type: str) -> None: ...
    def on_stream_chunk(self, request_id: str, chunk: bytes) -> None: ...
    def on_stream_end(self, request_id: str, error: tuple[str, str] | None) -> None: ...
    def on_violation(self, request_id: str | None, message: str) -> None: ...
    def on_extensions_changed(self) -> None: ...
    def on_extension_error(self, name: str, phase: str, error_type: str) -> None: ...
    def registration_info(self) -> dict[str, str]: ...


def error_payload(body: bytes, header_type: str | None) -> tuple[bytes, str]:
    """The invoke's error payload and type from a runtime's error post (pure).

    Lambda prefers the ``Lambda-Runtime-Function-Error-Type`` header and falls back to
    the body's ``errorType`` (awslambdaric sends no header). A body that is not a JSON
    object is replaced by one built from the header (the Runtime API spec's rule).
    """
    try:
        doc = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict):
        error_type = header_type or str(doc.get("errorType") or "") or "Unhandled"
        return body, error_type
    error_type = header_type or "Runtime.Unknown"
    text = body.decode("utf-8", "replace")[:1024]
    message = "The runtime reported an error whose body is not a JSON object" + (
        f": {text}" if text else ""
    )
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode(), error_type


class RuntimeApiServer:
    def __init__(
        self,
        owner: Owner,
        loop: asyncio.AbstractEventLoop,
        max_concurrency: int = 1,
        external_extensions: tuple[str, ...] = (),
    ) -> None:
        self.owner = owner
        self.loop = loop
        self.table: InvocationTable[Connection] = InvocationTable(max_concurrency)
        self.extensions: ExtensionRegistry[Connection] = ExtensionRegistry(
            lambda: str(uuid.uuid4()), external_extensions
        )
        self.telemetry = TelemetryHub(loop)
        self.conns: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self.address = ""

    async def start(self) -> str:
        """Listen on a fresh 127.0.0.1 port; returns ``host:port``."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self._server = await self.loop.create_server(self._connection, sock=sock)
        self.address = f"127.0.0.1:{sock.getsockname()[1]}"
        return self.address

    def _connection(self) -> Connection:
        conn = Connection(self, RESPONSE_LIMIT)
        self.conns.add(conn)
        return conn

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.conns):
            conn.close()
        self.conns.clear()
        self.telemetry.close()

    # -- from the session ---------------------------------------------------------------------
    def push(self, event: PendingEvent) -> None:
        self._deliver(self.table.push(event))

    def withdraw(self, request_id: str) -> None:
        self._deliver(self.table.withdraw(request_id))

    def broadcast(self, kind: str, event: dict[str, Any]) -> None:
        self._deliver_ext(self.extensions.broadcast(kind, event))

    def _deliver(self, pairs: Pairs[Connection]) -> None:
        for conn, event in pairs:
            if not conn.open:
                self.table.requeue(event)
                continue
            deadline = int(time.time() * 1000) + event.timeout_ms
            headers = dict(event.headers)
            headers["Lambda-Runtime-Deadline-Ms"] = str(deadline)
            headers["Content-Type"] = "application/json"
            conn.respond(200, event.payload, headers)
            self.owner.on_delivered(event, deadline)
        if any(not conn.open for conn, _ in pairs):
            self._deliver(self.table.pair())

    def _deliver_ext(self, deliveries: list[tuple[Connection, dict[str, Any]]]) -> None:
        for conn, event in deliveries:
            conn.respond(
                200,
                json.dumps(event).encode(),
                {
                    "Content-Type": "application/json",
                    "Lambda-Extension-Event-Identifier": str(uuid.uuid4()),
                },
            )

    # -- http.App -------------------------------------------------------------------------------
    def begin(self, req: HttpRequest, conn: Connection) -> BodySink | None:
        if req.method != "POST" or not req.path.startswith(_INV):
            return None
        rid, _, action = req.path[len(_INV) :].partition("/")
        mode = req.headers.get(_MODE)
        if action != "response" or mode is None or mode.lower() != "streaming":
            return None
        if rid not in self.table.inflight:
            return lambda chunk: None  # answered 400 once complete
        owner = self.owner
        return lambda chunk: owner.on_stream_chunk(rid, chunk)

    def closed(self, conn: Connection) -> None:
        self.conns.discard(conn)
        self.table.drop_waiter(conn)
        self.extensions.drop_waiter(conn)

    def handle(self, req: HttpRequest, conn: Connection) -> None:
        try:
            self._route(req, conn)
        except ExtensionError as e:
            conn.respond_json(e.status, error_body(e.error_type, e.message))

    def _route(self, req: HttpRequest, conn: Connection) -> None:
        path, method = req.path, req.method
        if path == _INV + "next" and method == "GET":
            pairs = self.table.next(conn)
            self.owner.on_next()
            self._deliver(pairs)
        elif path.startswith(_INV) and method == "POST":
            rid, _, action = path[len(_INV) :].partition("/")
            if action == "response":
                self._response(rid, req, conn)
            elif action == "error":
                self._error(rid, req, conn)
            else:
                conn.respond_json(404, error_body("NotFound", f"No route for POST {path}"))
        elif path == _RT + "init/error" and method == "POST":
            if not self.table.init_error():
                conn.respond_json(
                    403, error_body("InvalidStateTransition", "Init error was already reported")
                )
                return
            payload, error_type = error_payload(bytes(req.body), req.headers.get(ERROR_TYPE_HEADER))
            conn.respond_json(202, _ACCEPTED)
            self.owner.on_init_error(payload, error_type)
        elif path.startswith(_EXT) or path in ("/2022-07-01/telemetry", "/2020-08-15/logs"):
            self._extension_route(req, conn)
        else:
            conn.respond_json(404, error_body("NotFound", f"No route for {method} {path}"))

    def _settle(self, rid: str, conn: Connection) -> bool:
        outcome, pairs = self.table.settle(rid)
        if outcome is Settle.ACCEPTED:
            self._deliver(pairs)
            return True
        what = "already answered" if outcome is Settle.ALREADY_ANSWERED else "unknown"
        conn.respond_json(400, error_body("InvalidRequestID", "Invalid request ID"))
        self.owner.on_violation(rid, f"the runtime answered an {what} request id '{rid}'")
        return False

    def _response(self, rid: str, req: HttpRequest, conn: Connection) -> None:
        mode = req.headers.get(_MODE)
        if mode is not None and mode.lower() not in ("streaming", "buffered"):
            if rid in self.table.inflight:
                self.table.settle(rid)
                conn.respond_json(
                    400,
                    error_body("InvalidFunctionResponseMode", f"Invalid response mode '{mode}'"),
                )
                self.owner.on_error(
                    rid,
                    json.dumps(
                        {
                            "errorType": "Runtime.InvalidResponseModeHeader",
                            "errorMessage": f"Invalid {_MODE} header: {mode}",
                        }
                    ).encode(),
                    "Runtime.InvalidResponseModeHeader",
                )
                return
        if not self._settle(rid, conn):
            return
        if req.streamed:
            error: tuple[str, str] | None = None
            etype = req.trailers.get(ERROR_TYPE_HEADER)
            if etype:
                raw = req.trailers.get("lambda-runtime-function-error-body", "")
                with contextlib.suppress(ValueError):
                    raw = base64.b64decode(raw).decode("utf-8", "replace")
                error = (etype, raw)
            conn.respond_json(202, _ACCEPTED)
            self.owner.on_stream_end(rid, error)
            return
        if req.body_size > RESPONSE_LIMIT:
            conn.respond_json(
                413,
                error_body(
                    "RequestEntityTooLarge",
                    f"Exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes).",
                ),
            )
            self.owner.on_error(
                rid,
                json.dumps(
                    {
                        "errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": f"Response payload size ({req.body_size} bytes) exceeded "
                        f"maximum allowed payload size ({RESPONSE_LIMIT} bytes).",
                    }
                ).encode(),
                "Function.ResponseSizeTooLarge",
            )
            return
        conn.respond_json(202, _ACCEPTED)
        self.owner.on_response(rid, bytes(req.body), req.headers.get("content-type"))

    def _error(self, rid: str, req: HttpRequest, conn: Connection) -> None:
        if not self._settle(rid, conn):
            return
        payload, error_type = error_payload(bytes(req.body), req.headers.get(ERROR_TYPE_HEADER))
        conn.respond_json(202, _ACCEPTED)
        self.owner.on_error(rid, payload, error_type)

    # -- Extensions and Telemetry APIs ----------------------------------------------------------
    def _extension_route(self, req: HttpRequest, conn: Connection) -> None:
        path, method = req.path, req.method
        ext_id = req.headers.get("lambda-extension-identifier")
        if path == _EXT + "register" and method == "POST":
            try:
                body = json.loads(req.body or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise ExtensionError(
                    400, "InvalidRequestFormat", "The request body is not valid JSON"
                ) from None
            events = body.get("events") if isinstance(body, dict) else None
            ext = self.extensions.register(req.headers.get("lambda-extension-name"), events)
            info = dict(self.owner.registration_info())
            if "accountId" not in (req.headers.get("lambda-extension-accept-feature") or ""):
                info.pop("accountId", None)
            conn.respond(
                200,
                json.dumps(info).encode(),
                {"Content-Type": "application/json", "Lambda-Extension-Identifier": ext.ext_id},
            )
            self.owner.on_extensions_changed()
        elif path == _EXT + "event/next" and method == "GET":
            self._deliver_ext(self.extensions.next(ext_id, conn))
            self.owner.on_extensions_changed()
        elif path in (_EXT + "init/error", _EXT + "exit/error") and method == "POST":
            ext = self.extensions.require(ext_id)
            error_type = req.headers.get("lambda-extension-function-error-type") or "Unknown"
            conn.respond_json(202, _ACCEPTED)
            phase = "init" if path.endswith("init/error") else "exit"
            self.owner.on_extension_error(ext.name, phase, error_type)
        elif method == "PUT" and path in ("/2022-07-01/telemetry", "/2020-08-15/logs"):
            ext = self.extensions.require(ext_id)
            try:
                sub = parse_subscription(ext.name, json.loads(req.body or b"{}"))
            except (SubscriptionError, ValueError, UnicodeDecodeError) as e:
                conn.respond_json(400, error_body("ValidationError", str(e)))
                return
            self.telemetry.subscribe(sub)
            conn.respond(200, b"OK", {"Content-Type": "text/plain"})
        else:
            conn.respond_json(404, error_body("NotFound", f"No route for {method} {path}"))
