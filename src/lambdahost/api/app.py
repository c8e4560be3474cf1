"""The ASGI application: one endpoint for every service.

Each request is authenticated (SigV4 against the root credentials unless the
server runs with ``--no-auth``), then routed by the service named in its
credential scope and by that service's protocol: Lambda (rest-json), STS
(query), and lambdahost's own ``/_lambdahost`` routes (logs, environments,
code downloads). All errors become wire responses here, in one place.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from lambdahost.api import internal
from lambdahost.api.http import Request, Response
from lambdahost.api.router import Router
from lambdahost.api.routes import (
    capacity,
    concurrency,
    event_invoke_config,
    functions,
    invoke,
    layers,
    provisioned,
    scaling,
    streaming,
    tags,
    versions,
)
from lambdahost.api.services import Service, ServiceRegistry
from lambdahost.api.wire import query_xml_error, rest_json_error
from lambdahost.app.platform import Platform
from lambdahost.auth import (
    AuthError,
    Credentials,
    handle_sts,
    parse_query_params,
    parse_scope,
    render_auth_error,
    verify,
)
from lambdahost.durable import routes as durable_routes
from lambdahost.errors import ApiError, service_error, unknown_operation
from lambdahost.esm import routes as esm_routes
from lambdahost.sqs import service as sqs_service

log = logging.getLogger("lambdahost.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 69_905_067  # a 50 MB zip, base64-encoded in JSON
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def build_lambda_router(platform: Platform) -> Router:
    router = Router()
    invoke.register(router, platform)
    streaming.register(router, platform)
    functions.register(router, platform)
    layers.register(router, platform)
    versions.register(router, platform)
    tags.register(router, platform)
    event_invoke_config.register(router, platform)
    concurrency.register(router, platform)
    provisioned.register(router, platform)
    capacity.register(router, platform)
    scaling.register(router, platform)
    esm_routes.register(router, platform)
    durable_routes.register(router, platform)
    return router


class LambdaHostApp:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.lambda_router = build_lambda_router(platform)
        self.internal_router = internal.build_router(platform)
        settings = platform.settings
        self.auth_enabled = settings.auth
        root = Credentials(
            access_key_id=platform.keys.access_key_id,
            secret_access_key=platform.keys.secret_access_key,
            account_id=settings.account_id,
            principal_arn=platform.arns.root(),
        )
        self._credentials = {root.access_key_id: root}
        self.root = root
        self.services = ServiceRegistry()
        self.services.add(Service("lambda", "rest-json", self._lambda, rest_json_error))
        self.services.add(
            Service("sts", "query", self._sts, query_xml_error, query_versions=("2011-06-15",))
        )
        self.services.add(sqs_service.build_service(platform))

    def lookup(self, access_key_id: str) -> Credentials | None:
        return self._credentials.get(access_key_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        try:
            request = await self._read(scope, receive, request_id)
        except ApiError as error:
            await self._send(send, rest_json_error(error, request_id), request_id)
            return
        response = await self.handle(request)
        await self._send(send, response, request_id)

    async def handle(self, request: Request) -> Response:
        if request.raw_path.startswith("/_lambdahost/"):
            return await self._internal(request)
        signed = parse_scope(request.headers, request.raw_query)
        service = self.services.get(signed.service) if signed else self.services.guess(request)
        refused = self._authenticate(request, service.protocol if service else "rest-json")
        if refused is not None:
            return refused
        if service is None:
            name = signed.service if signed else "this service"
            return rest_json_error(
                ApiError("UnknownServiceException", f"lambdahost does not implement {name}", 400),
                request.request_id,
            )
        return await service.handle(request)

    def _authenticate(self, request: Request, protocol: str) -> Response | None:
        """Verify the SigV4 signature and set the principal; an error response if refused."""
        if not self.auth_enabled:
            request.principal = self.root
            return None
        try:
            creds, _ = verify(
                request.method,
                request.raw_path,
                request.raw_query,
                request.headers,
                request.body,
                self.lookup,
                datetime.now(UTC),
            )
        except AuthError as error:
            return self._auth_error(error, protocol, request.request_id)
        request.principal = creds
        return None

    async def _lambda(self, request: Request) -> Response:
        return await self._dispatch(self.lambda_router, request, rest_json_error)

    async def _dispatch(
        self,
        router: Router,
        request: Request,
        render: Callable[[ApiError, str], Response],
    ) -> Response:
        found = router.match(request.method, request.raw_path)
        try:
            if found is None:
                raise unknown_operation(request.method, request.raw_path)
            route, params = found
            request.path_params = params
            return await route.handler(request)
        except ApiError as error:
            return render(error, request.request_id)
        except Exception:
            log.exception("internal error on %s %s", request.method, request.raw_path)
            return render(
                service_error("An internal error occurred in lambdahost."), request.request_id
            )

    async def _internal(self, request: Request) -> Response:
        public = request.raw_path.startswith(("/_lambdahost/code/", "/_lambdahost/health"))
        if not public:
            refused = self._authenticate(request, "rest-json")
            if refused is not None:
                return refused
        return await self._dispatch(self.internal_router, request, rest_json_error)

    async def _sts(self, request: Request) -> Response:
        params = parse_query_params(request.raw_query)
        if request.method == "POST" and request.body:
            params.update(parse_query_params(request.body))
        assert isinstance(request.principal, Credentials)
        status, headers, body = handle_sts(params, "query", request.principal, request.request_id)
        return Response(
            status,
            body,
            [
                (k.lower().encode(), v.encode())
                for k, v in headers
                if k.lower() != "x-amzn-requestid"
            ],
        )

    @staticmethod
    def _auth_error(error: AuthError, protocol: str, request_id: str) -> Response:
        status, headers, body = render_auth_error(
            error,
            protocol,
            request_id,
            xml_namespace=STS_NAMESPACE if protocol == "query" else None,
        )
        return Response(
            status,
            body,
            [
                (k.lower().encode(), v.encode())
                for k, v in headers
                if k.lower() != "x-amzn-requestid"
            ],
        )

    async def _read(self, scope: Scope, receive: Receive, request_id: str) -> Request:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("utf-8", "replace")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            raise ApiError(
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_BODY} bytes for the operation",
                413,
            )
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > MAX_BODY:
                    raise ApiError(
                        "RequestEntityTooLargeException",
                        f"Request must be smaller than {MAX_BODY} bytes for the operation",
                        413,
                    )
                chunks.append(chunk)
            more = message.get("more_body", False)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        raw = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else str(raw_path)
        return Request(
            method=scope["method"],
            raw_path=raw,
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=b"".join(chunks) if len(chunks) != 1 else chunks[0],
            request_id=request_id,
        )

    @staticmethod
    async def _send(send: Send, response: Response, request_id: str) -> None:
        headers = [(b"x-amzn-requestid", request_id.encode()), *response.headers]
        if isinstance(response, streaming.StreamingResponse):  # InvokeWithResponseStream
            await streaming.send_stream(send, response, headers)
            return
        if response.body or response.status not in (204, 304):
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.platform.start()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.platform.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
