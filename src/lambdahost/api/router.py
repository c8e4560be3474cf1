"""Route table matching (method, raw path) to handlers; path labels are unquoted after matching."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from lambdahost.api.http import Request, Response

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._by_prefix: dict[str, list[Route]] = {}

    def add(self, method: str, template: str, handler: Handler, name: str) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"
        route = Route(method, re.compile(regex), handler, name)
        self.routes.append(route)
        prefix = template.split("/")[1]
        self._by_prefix.setdefault(prefix, []).append(route)

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        prefix = raw_path.split("/", 2)[1] if raw_path.startswith("/") else ""
        for route in self._by_prefix.get(prefix, ()):
            if route.method != method:
                continue
            found = route.pattern.match(raw_path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def allowed_methods(self, raw_path: str) -> bool:
        prefix = raw_path.split("/", 2)[1] if raw_path.startswith("/") else ""
        return any(r.pattern.match(raw_path) for r in self._by_prefix.get(prefix, ()))
