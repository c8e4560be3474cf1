"""Reserved and account concurrency: the API use cases and admission of invocations.

The ledger (``core.concurrency``) lives in memory and is rebuilt from the
store at start-up; reservations are written to the store first. Every
invocation path (Invoke, Event dispatch, event source mappings, durable
re-invocations) goes through ``InvokeService.invoke_sync``, which takes a slot
here or fails with 429 ``TooManyRequestsException`` and Lambda's ``Reason``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdahost.core.concurrency import (
    ConcurrencyLedger,
    FunctionCounters,
    check_reservation,
    unreserved,
)
from lambdahost.errors import function_not_found, invalid_parameter

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform


class ConcurrencyService:
    def __init__(self, platform: Platform, account_limit: int) -> None:
        self.platform = platform
        self.ledger = ConcurrencyLedger(account_limit=account_limit)

    async def start(self) -> None:
        reserved = await self.platform.store.call(lambda s: s.functions.reserved_concurrency())
        for name, value in reserved.items():
            self.ledger.set_reserved(name, value)

    async def stop(self) -> None:
        return None

    @property
    def account_limit(self) -> int:
        return self.ledger.account_limit

    def unreserved_limit(self) -> int:
        return unreserved(self.ledger.account_limit, self.ledger.reserved)

    def reserved_for(self, name: str) -> int | None:
        return self.ledger.reserved.get(name)

    async def put(self, name: str, body: Any) -> dict[str, int]:
        value = body.get("ReservedConcurrentExecutions") if isinstance(body, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise invalid_parameter("ReservedConcurrentExecutions must be an integer of 0 or more.")
        await self.platform.functions.require_latest(name)
        refusal = check_reservation(self.ledger.account_limit, self.ledger.reserved, name, value)
        if refusal:
            raise invalid_parameter(refusal)
        found = await self.platform.store.call(
            lambda s: s.functions.set_reserved_concurrency(name, value)
        )
        if not found:
            raise function_not_found(self.platform.arns.function(name))
        self.ledger.set_reserved(name, value)
        return {"ReservedConcurrentExecutions": value}

    async def get(self, name: str) -> dict[str, int]:
        await self.platform.functions.require_latest(name)
        value = self.ledger.reserved.get(name)
        return {} if value is None else {"ReservedConcurrentExecutions": value}

    async def delete(self, name: str) -> None:
        await self.platform.functions.require_latest(name)
        await self.platform.store.call(lambda s: s.functions.set_reserved_concurrency(name, None))
        self.ledger.set_reserved(name, None)

    def forget(self, name: str) -> None:
        """A deleted function's reservation goes back to the pool."""
        self.ledger.set_reserved(name, None)

    def counters(self, name: str) -> FunctionCounters:
        return self.ledger.counters_for(name)
