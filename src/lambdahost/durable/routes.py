"""Routes for the 2025-12-01 durable-execution operations (stub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdahost.api.router import Router

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    """Add the durable-execution routes to the Lambda router."""
