"""The Telemetry API (and the legacy Logs API) of one environment.

An extension subscribes with ``PUT /2022-07-01/telemetry`` (``/2020-08-15/logs``): the
event types it wants (``platform``, ``function``, ``extension``), buffering limits and
an HTTP destination. The environment emits ``{"time", "type", "record"}`` events;
each subscription buffers them and POSTs JSON arrays to its destination when a buffer
is full (``maxItems``/``maxBytes``) or ``timeoutMs`` after its first event. Events
emitted before the first subscription (the init phase's ``platform.initStart``...)
are kept and replayed to subscribers that join during init. ``sandbox.localdomain``
and ``sandbox`` destinations resolve to 127.0.0.1 (the environment shares the host's
network). Delivery failures drop the batch. Validation is pure (``parse_subscription``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TYPES = frozenset({"platform", "function", "extension"})
_BACKLOG = 200
_LOCAL_HOSTS = {"sandbox.localdomain", "sandbox", "localhost"}


class SubscriptionError(ValueError):
    pass


@dataclass(frozen=True)
class Buffering:
    max_items: int = 1000
    max_bytes: int = 262144
    timeout_ms: int = 1000


@dataclass
class Subscription:
    ext_name: str
    types: frozenset[str]
    buffering: Buffering
    host: str
    port: int
    path: str
    events: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


def iso_time(epoch: float) -> str:
    ms = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{ms:03d}Z"


def _int(value: Any, name: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SubscriptionError(f"buffering.{name} must be an integer from {low} to {high}")
    return value


def parse_subscription(ext_name: str, body: Any) -> Subscription:
    """Validate a subscription request (pure)."""
    if not isinstance(body, Mapping):
        raise SubscriptionError("The subscription must be a JSON object")
    types = body.get("types")
    if not isinstance(types, list) or not types or not set(types) <= TYPES:
        raise SubscriptionError("types must be a non-empty list of platform, function, extension")
    raw = body.get("buffering") or {}
    if not isinstance(raw, Mapping):
        raise SubscriptionError("buffering must be an object")
    buffering = Buffering(
        _int(raw.get("maxItems"), "maxItems", 1000, 10000, 1000),
        _int(raw.get("maxBytes"), "maxBytes", 262144, 1048576, 262144),
        _int(raw.get("timeoutMs"), "timeoutMs", 25, 30000, 1000),
    )
    dest = body.get("destination")
    if not isinstance(dest, Mapping) or dest.get("protocol") != "HTTP":
        raise SubscriptionError('destination must be {"protocol": "HTTP", "URI": ...}')
    parts = urlsplit(str(dest.get("URI", "")))
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise SubscriptionError("destination.URI must be http://host:port[/path]")
    host = "127.0.0.1" if parts.hostname in _LOCAL_HOSTS else parts.hostname
    return Subscription(ext_name, frozenset(types), buffering, host, parts.port, parts.path or "/")


def _category(event_type: str) -> str:
    return "platform" if event_type.startswith("platform.") else event_type


class TelemetryHub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.subs: dict[str, Subscription] = {}
        self.backlog: list[dict[str, Any]] | None = []  # None once init is over
        self._sending: set[asyncio.Task[None]] = set()

    def subscribe(self, sub: Subscription) -> None:
        self.subs[sub.ext_name] = sub
        for event in self.backlog or ():
            self._add(sub, event)

    def end_init(self) -> None:
        self.backlog = None

    def emit(self, event_type: str, record: Any, now: float | None = None) -> None:
        event = {
            "time": iso_time(time.time() if now is None else now),
            "type": event_type,
            "record": record,
        }
        if self.backlog is not None and len(self.backlog) < _BACKLOG:
            self.backlog.append(event)
        for sub in self.subs.values():
            self._add(sub, event)

    def function_log(self, text: str) -> None:
        if not any("function" in s.types for s in self.subs.values()):
            return
        now = time.time()
        for line in text.splitlines():
            if line:
                self.emit("function", line, now)

    def _add(self, sub: Subscription, event: dict[str, Any]) -> None:
        if _category(str(event["type"])) not in sub.types:
            return
        sub.events.append(event)
        sub.size += len(json.dumps(event))
        if len(sub.events) >= sub.buffering.max_items or sub.size >= sub.buffering.max_bytes:
            self._flush(sub)
        elif sub.timer is None:
            sub.timer = self.loop.call_later(sub.buffering.timeout_ms / 1000.0, self._flush, sub)

    def _flush(self, sub: Subscription) -> None:
        if sub.timer is not None:
            sub.timer.cancel()
            sub.timer = None
        if not sub.events:
            return
        batch, sub.events, sub.size = sub.events, [], 0
        task = self.loop.create_task(self._post(sub, batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def flush(self, timeout: float = 1.0) -> None:
        """Send everything buffered now and wait (bounded) for the deliveries."""
        for sub in self.subs.values():
            self._flush(sub)
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=timeout)

    def close(self) -> None:
        for sub in self.subs.values():
            if sub.timer is not None:
                sub.timer.cancel()
                sub.timer = None
        for task in self._sending:
            task.cancel()

    @staticmethod
    async def _post(sub: Subscription, batch: list[dict[str, Any]]) -> None:
        body = json.dumps(batch).encode()
        head = (
            f"POST {sub.path} HTTP/1.1\r\nHost: {sub.host}:{sub.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        writer: asyncio.StreamWriter | None = None
        try:
            reader, w = await asyncio.wait_for(asyncio.open_connection(sub.host, sub.port), 2.0)
            writer = w
            w.write(head + body)
            await w.drain()
            await asyncio.wait_for(reader.readline(), 5.0)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass  # Lambda drops what it cannot deliver
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
