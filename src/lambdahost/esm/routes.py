"""Routes for Create/Get/Update/Delete/ListEventSourceMappings (stub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdahost.api.router import Router

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform


def register(router: Router, platform: Platform) -> None:
    """Add the event-source-mapping routes to the Lambda router."""
