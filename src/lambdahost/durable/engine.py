"""The durable-execution engine: starts executions, re-invokes on timers and callbacks (stub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdahost.api.http import Request, Response
from lambdahost.app.functions import Resolved

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform


class DurableEngine:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def is_durable(self, resolved: Resolved) -> bool:
        """Whether invoking this version starts or continues a durable execution."""
        return bool(resolved.row.config.get("DurableConfig"))

    async def invoke(
        self, request: Request, name: str, qualifier: str | None, resolved: Resolved
    ) -> Response:
        """Handle an Invoke of a durable function (any invocation type)."""
        raise NotImplementedError

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
