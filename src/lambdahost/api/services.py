"""The services behind the one endpoint, and how a request finds its service.

A request names its service in its SigV4 credential scope (``.../lambda/aws4_request``).
Unsigned requests (``--no-auth``) are recognised by their protocol's marks: an
``X-Amz-Target`` header (JSON 1.0/1.1 services), a query ``Action`` with an API
``Version`` (query services), or a rest-json path (Lambda). Each service
brings its protocol's error rendering, so errors always arrive in the shape
that service's botocore parser expects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lambdahost.api.http import Request, Response
from lambdahost.errors import ApiError

Handler = Callable[[Request], Awaitable[Response]]
ErrorRenderer = Callable[[ApiError, str], Response]


@dataclass(frozen=True)
class Service:
    """One AWS service served at the endpoint."""

    name: str  # the SigV4 signing name, e.g. "lambda", "sts"
    protocol: str  # botocore protocol: rest-json | json | query | rest-xml
    handle: Handler
    render_error: ErrorRenderer
    target_prefixes: tuple[str, ...] = ()  # X-Amz-Target prefixes (json protocol)
    query_versions: tuple[str, ...] = ()  # API versions (query protocol)


class ServiceRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Service] = {}

    def add(self, service: Service) -> None:
        self._by_name[service.name] = service

    def get(self, name: str) -> Service | None:
        return self._by_name.get(name)

    def guess(self, request: Request) -> Service | None:
        """The service of an unsigned request, from its protocol's marks."""
        target = request.headers.get("x-amz-target")
        if target:
            for service in self._by_name.values():
                if target.startswith(service.target_prefixes) and service.target_prefixes:
                    return service
            return None
        if request.raw_path.startswith("/20"):
            return self._by_name.get("lambda")
        version = request.q("Version")
        if version is None and request.body and b"Version=" in request.body:
            from urllib.parse import parse_qs

            values = parse_qs(request.body.decode("utf-8", "replace")).get("Version")
            version = values[0] if values else None
        if version:
            for service in self._by_name.values():
                if version in service.query_versions:
                    return service
        return self._by_name.get("lambda")
