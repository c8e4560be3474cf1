"""Minimal request/response types for the ASGI edge (no framework on the hot path).

Routing needs the raw, still percent-encoded path (Lambda ARNs in URI labels
contain ``%3A``), which is why the edge reads ``scope["raw_path"]`` itself
instead of using a framework router.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from lambdahost.errors import ApiError

JSON_TYPE = b"application/json"


@dataclass
class Request:
    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    request_id: str
    path_params: dict[str, str] = field(default_factory=dict)
    principal: Any = None
    _query: dict[str, list[str]] | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_qs(self.raw_query, keep_blank_values=True)
        return self._query

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(
                "SerializationException", "Could not parse the request body as JSON", 400
            ) from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data).encode(), [(b"content-type", JSON_TYPE)])


def empty(status: int = 204) -> Response:
    return Response(status)
