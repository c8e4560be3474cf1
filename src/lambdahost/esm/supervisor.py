"""Runs one poller per enabled event source mapping (stub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform


class EsmSupervisor:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
