"""Pure bookkeeping of the Extensions API: registrations, ``event/next`` polls, events.

No I/O and no clock. Each registered extension moves REGISTERED -> WAITING (holding
``event/next``) -> BUSY (it was handed an event) -> WAITING ... Events for an
extension that is busy wait in its backlog. Lambda's rules kept here: at most 10
extensions; registration closes when init ends; only external extensions (started
from ``/opt/extensions``) may subscribe to SHUTDOWN; init is complete once every
registered extension has asked for its first event; an invocation is complete once
every INVOKE subscriber is waiting again ("quiet").
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lambdahost.errors import InvalidTransition

W = TypeVar("W")
MAX_EXTENSIONS = 10
EVENT_TYPES = frozenset({"INVOKE", "SHUTDOWN"})


class ExtPhase(enum.Enum):
    REGISTERED = "registered"
    WAITING = "waiting"
    BUSY = "busy"
    EXITED = "exited"


_MOVES: dict[ExtPhase, frozenset[ExtPhase]] = {
    ExtPhase.REGISTERED: frozenset({ExtPhase.WAITING, ExtPhase.EXITED}),
    ExtPhase.WAITING: frozenset({ExtPhase.BUSY, ExtPhase.EXITED}),
    ExtPhase.BUSY: frozenset({ExtPhase.WAITING, ExtPhase.EXITED}),
    ExtPhase.EXITED: frozenset(),
}


class ExtensionError(Exception):
    """A refused Extensions API call: HTTP status, Lambda error type and message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


@dataclass
class Extension(Generic[W]):
    ext_id: str
    name: str
    events: frozenset[str]
    external: bool
    phase: ExtPhase = ExtPhase.REGISTERED
    waiter: W | None = None
    backlog: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)

    def move(self, target: ExtPhase) -> None:
        if target not in _MOVES[self.phase]:
            raise InvalidTransition(f"extension {self.name}", self.phase, target)
        self.phase = target


Deliveries = list[tuple[W, dict[str, Any]]]


class ExtensionRegistry(Generic[W]):
    def __init__(self, new_id: Callable[[], str], external: Iterable[str] = ()) -> None:
        self._new_id = new_id
        self.external: set[str] = set(external)
        self.by_id: dict[str, Extension[W]] = {}
        self.open = True

    # -- registration -----------------------------------------------------------------------------
    def register(self, name: str | None, events: Any) -> Extension[W]:
        if not self.open:
            raise ExtensionError(
                403,
                "Extension.RegistrationClosed",
                "Extension registration is closed after the Init phase",
            )
        if not name:
            raise ExtensionError(
                403, "Extension.MissingExtensionName", "Lambda-Extension-Name header is required"
            )
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ExtensionError(
                400, "InvalidRequestFormat", 'The body must be {"events": ["INVOKE", "SHUTDOWN"]}'
            )
        unknown = sorted(set(events) - EVENT_TYPES)
        if unknown:
            raise ExtensionError(
                400, "Extension.InvalidEventType", f"Unknown event type(s): {', '.join(unknown)}"
            )
        if any(e.name == name for e in self.by_id.values()):
            raise ExtensionError(
                409, "Extension.AlreadyRegistered", f"Extension {name} is already registered"
            )
        if len(self.by_id) >= MAX_EXTENSIONS:
            raise ExtensionError(
                403,
                "Extension.TooManyExtensions",
                f"At most {MAX_EXTENSIONS} extensions can register",
            )
        external = name in self.external
        if "SHUTDOWN" in events and not external:
            raise ExtensionError(
                403,
                "ShutdownEventNotSupportedForInternalExtension",
                "Internal extensions cannot register for the SHUTDOWN event",
            )
        ext: Extension[W] = Extension(self._new_id(), name, frozenset(events), external)
        self.by_id[ext.ext_id] = ext
        return ext

    def close(self) -> None:
        self.open = False

    # -- events -----------------------------------------------------------------------------------
    def require(self, ext_id: str | None) -> Extension[W]:
        ext = self.by_id.get(ext_id or "")
        if ext is None:
            raise ExtensionError(
                403, "Extension.UnknownExtensionIdentifier", "Unknown Lambda-Extension-Identifier"
            )
        return ext

    def next(self, ext_id: str | None, waiter: W) -> Deliveries[W]:
        """``event/next``: the extension is done with its last event and waits for one."""
        ext = self.require(ext_id)
        if ext.phase is ExtPhase.EXITED:
            raise ExtensionError(403, "Extension.Exited", "The extension has exited")
        if ext.phase is not ExtPhase.WAITING:  # WAITING already: it re-polls after a drop
            ext.move(ExtPhase.WAITING)
        ext.waiter = waiter
        return self._deliver(ext)

    def broadcast(self, kind: str, event: dict[str, Any]) -> Deliveries[W]:
        out: Deliveries[W] = []
        for ext in self.by_id.values():
            if kind in ext.events and ext.phase is not ExtPhase.EXITED:
                ext.backlog.append(event)
                out.extend(self._deliver(ext))
        return out

    def drop_waiter(self, waiter: W) -> None:
        for ext in self.by_id.values():
            if ext.waiter is waiter:
                ext.waiter = None

    def exited(self, name: str) -> None:
        for ext in self.by_id.values():
            if ext.name == name and ext.phase is not ExtPhase.EXITED:
                ext.move(ExtPhase.EXITED)
                ext.waiter = None
                ext.backlog.clear()

    # -- views ------------------------------------------------------------------------------------
    def started(self, expected: int) -> bool:
        """Init may end: ``expected`` extensions registered and each asked for an event."""
        regs = list(self.by_id.values())
        return len(regs) >= expected and all(e.phase is not ExtPhase.REGISTERED for e in regs)

    def quiet(self) -> bool:
        """Every INVOKE subscriber is waiting again with nothing left to hand it."""
        return all(
            e.phase is ExtPhase.EXITED or (e.phase is ExtPhase.WAITING and not e.backlog)
            for e in self.by_id.values()
            if "INVOKE" in e.events
        )

    def subscribers(self, kind: str) -> list[Extension[W]]:
        return [
            e for e in self.by_id.values() if kind in e.events and e.phase is not ExtPhase.EXITED
        ]

    # -- internals --------------------------------------------------------------------------------
    @staticmethod
    def _deliver(ext: Extension[W]) -> Deliveries[W]:
        if ext.phase is ExtPhase.WAITING and ext.waiter is not None and ext.backlog:
            waiter = ext.waiter
            ext.waiter = None
            ext.move(ExtPhase.BUSY)
            return [(waiter, ext.backlog.popleft())]
        return []
