"""Pure bookkeeping of one environment's Runtime API: events, ``/next`` polls, invocations.

No I/O and no clock. ``RuntimeApiServer`` tells an ``InvocationTable`` what happened
(a ``/next`` arrived, an event was pushed, a response came in) and delivers the
``(waiter, event)`` pairs it returns. At most ``max_concurrency`` events are in flight
(delivered, not yet answered): 1 for on-demand environments, N in multi-concurrency
mode (``AWS_LAMBDA_MAX_CONCURRENCY``), where N workers hold ``/next`` at once. The
runtime's own phase is a small state machine with guarded transitions.
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from lambdahost.errors import InvalidTransition

W = TypeVar("W")


class RuntimePhase(enum.Enum):
    STARTING = "starting"  # spawned; has not asked for work yet
    READY = "ready"  # called /next at least once: its init is done
    INIT_FAILED = "init_failed"  # posted /runtime/init/error


_PHASES: dict[RuntimePhase, frozenset[RuntimePhase]] = {
    RuntimePhase.STARTING: frozenset({RuntimePhase.READY, RuntimePhase.INIT_FAILED}),
    # In multi-concurrency mode one worker may be polling while another fails its init.
    RuntimePhase.READY: frozenset({RuntimePhase.INIT_FAILED}),
    RuntimePhase.INIT_FAILED: frozenset(),
}


class Settle(enum.Enum):
    ACCEPTED = "accepted"  # the first answer for an event in flight
    UNKNOWN = "unknown"  # no such request id was ever delivered
    ALREADY_ANSWERED = "already_answered"  # answered (or withdrawn) before


@dataclass(frozen=True)
class PendingEvent:
    """One invocation as the runtime will receive it (the deadline is stamped on delivery)."""

    request_id: str
    payload: bytes
    headers: tuple[tuple[str, str], ...]
    timeout_ms: int


Pairs = list[tuple[W, PendingEvent]]


class InvocationTable(Generic[W]):
    def __init__(self, max_concurrency: int = 1, remember: int = 1024) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self.phase = RuntimePhase.STARTING
        self.queue: collections.deque[PendingEvent] = collections.deque()
        self.waiters: collections.deque[W] = collections.deque()
        self.inflight: dict[str, PendingEvent] = {}
        self._done: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._remember = remember
        self._init_errors = 0

    def move(self, target: RuntimePhase) -> None:
        if target is self.phase:
            return
        if target not in _PHASES[self.phase]:
            raise InvalidTransition("runtime", self.phase, target)
        self.phase = target

    # -- inputs -----------------------------------------------------------------------------------
    def next(self, waiter: W) -> Pairs[W]:
        """The runtime asks for work. Returns the pairs to deliver now (maybe none)."""
        if self.phase is RuntimePhase.STARTING:
            self.move(RuntimePhase.READY)
        self.waiters.append(waiter)
        return self.pair()

    def push(self, event: PendingEvent) -> Pairs[W]:
        self.queue.append(event)
        return self.pair()

    def settle(self, request_id: str) -> tuple[Settle, Pairs[W]]:
        """A ``/response`` or ``/error`` for ``request_id`` arrived."""
        if request_id in self.inflight:
            del self.inflight[request_id]
            self._forget(request_id)
            return Settle.ACCEPTED, self.pair()
        if request_id in self._done:
            return Settle.ALREADY_ANSWERED, []
        return Settle.UNKNOWN, []

    def withdraw(self, request_id: str) -> Pairs[W]:
        """Give up on an event (timed out, or its environment is going away)."""
        self.inflight.pop(request_id, None)
        for event in list(self.queue):
            if event.request_id == request_id:
                self.queue.remove(event)
        self._forget(request_id)
        return self.pair()

    def requeue(self, event: PendingEvent) -> None:
        """Undo a delivery whose ``/next`` connection turned out to be gone."""
        if self.inflight.pop(event.request_id, None) is not None:
            self.queue.appendleft(event)

    def drop_waiter(self, waiter: W) -> None:
        """A ``/next`` connection closed before it got an event."""
        try:
            self.waiters.remove(waiter)
        except ValueError:
            pass

    def init_error(self) -> bool:
        """``/runtime/init/error``: True for the first (202), False after (403)."""
        self._init_errors += 1
        if self._init_errors == 1:
            self.move(RuntimePhase.INIT_FAILED)
            return True
        return False

    # -- views ------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.phase is RuntimePhase.READY

    @property
    def busy(self) -> int:
        """Events delivered or waiting to be: what the environment is working on."""
        return len(self.inflight) + len(self.queue)

    # -- internals --------------------------------------------------------------------------------
    def _forget(self, request_id: str) -> None:
        self._done[request_id] = None
        while len(self._done) > self._remember:
            self._done.popitem(last=False)

    def pair(self) -> Pairs[W]:
        pairs: Pairs[W] = []
        while self.queue and self.waiters and len(self.inflight) < self.max_concurrency:
            event = self.queue.popleft()
            waiter = self.waiters.popleft()
            self.inflight[event.request_id] = event
            pairs.append((waiter, event))
        return pairs
