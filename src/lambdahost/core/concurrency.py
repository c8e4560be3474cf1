"""Concurrency accounting as Lambda does it: account pool, reserved concurrency, throttles.

- The account has ``ConcurrentExecutions`` (default 1000). Reserving concurrency
  for a function takes it out of the unreserved pool, which may never drop
  below 100 (``UNRESERVED_MINIMUM``).
- A function with reserved concurrency R runs at most R invocations at once
  (all versions and aliases together); 0 throttles everything.
- Functions without a reservation share the unreserved pool.

``ConcurrencyLedger`` holds the in-flight counts and decides admission; it is
pure (no I/O, no clock) so the rules are unit-tested directly. The caller
releases what it acquired (``lambdahost.app.invoke`` uses a context manager).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

UNRESERVED_MINIMUM = 100
RESERVED_LIMIT_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT_REASON = "ConcurrentInvocationLimitExceeded"


def unreserved(account_limit: int, reserved: Mapping[str, int]) -> int:
    return account_limit - sum(reserved.values())


def check_reservation(
    account_limit: int, reserved: Mapping[str, int], function: str, value: int
) -> str | None:
    """AWS's refusal message if reserving ``value`` for ``function`` is not allowed."""
    others = {k: v for k, v in reserved.items() if k != function}
    if unreserved(account_limit, others) - value < UNRESERVED_MINIMUM:
        return (
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{UNRESERVED_MINIMUM}]."
        )
    return None


@dataclass
class FunctionCounters:
    """What ``lambdahost stats`` shows per function (since the server started)."""

    in_flight: int = 0
    peak: int = 0
    invocations: int = 0
    throttles: int = 0
    cold_starts: int = 0
    restores: int = 0  # cold starts that were SnapStart restores
    errors: int = 0


@dataclass
class ConcurrencyLedger:
    account_limit: int = 1000
    reserved: dict[str, int] = field(default_factory=dict)
    counters: dict[str, FunctionCounters] = field(default_factory=dict)
    unreserved_in_flight: int = 0

    def counters_for(self, function: str) -> FunctionCounters:
        found = self.counters.get(function)
        if found is None:
            found = self.counters[function] = FunctionCounters()
        return found

    def try_acquire(self, function: str) -> str | None:
        """Take one slot for ``function``; the throttle Reason if none is free."""
        counters = self.counters_for(function)
        limit = self.reserved.get(function)
        if limit is not None:
            if counters.in_flight >= limit:
                counters.throttles += 1
                return RESERVED_LIMIT_REASON
        elif self.unreserved_in_flight >= unreserved(self.account_limit, self.reserved):
            counters.throttles += 1
            return ACCOUNT_LIMIT_REASON
        else:
            self.unreserved_in_flight += 1
        counters.in_flight += 1
        counters.invocations += 1
        counters.peak = max(counters.peak, counters.in_flight)
        return None

    def release(self, function: str) -> None:
        counters = self.counters_for(function)
        counters.in_flight -= 1
        if function not in self.reserved:
            self.unreserved_in_flight -= 1

    def set_reserved(self, function: str, value: int | None) -> None:
        """Change a reservation; invocations in flight move between pools."""
        counters = self.counters_for(function)
        was_reserved = function in self.reserved
        if value is None:
            self.reserved.pop(function, None)
        else:
            self.reserved[function] = value
        now_reserved = function in self.reserved
        if was_reserved and not now_reserved:
            self.unreserved_in_flight += counters.in_flight
        elif now_reserved and not was_reserved:
            self.unreserved_in_flight -= counters.in_flight
