"""Runs the synchronous ``Store`` on one dedicated thread, with group commit.

The event loop never blocks on the database: every call is handed to the
store thread and awaited. Event enqueues are batched: the thread drains every
enqueue waiting in its inbox and commits them in one transaction (one fsync),
then resolves all their futures, so a 202 is only sent once the event is on disk.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from lambdahost.store import Store, open_store

T = TypeVar("T")
MAX_GROUP = 512


@dataclass
class _Call:
    fn: Callable[[Store], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


@dataclass
class _Enqueue:
    row: tuple[str, str, str | None, bytes, str | None, float]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _resolve_all(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        _resolve(future, None, error)


class StoreThread:
    """Owns the store connection; serialises all access to it."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._inbox: queue.SimpleQueue[_Call | _Enqueue | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lambdahost-store", daemon=True)
        self.store: Store | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._inbox.put(None)
        self._thread.join(timeout=10)

    async def call(self, fn: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._inbox.put(_Call(fn, future, loop))
        return await future

    async def enqueue_event(
        self,
        request_id: str,
        function: str,
        qualifier: str | None,
        payload: bytes,
        client_context: str | None,
        now: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._inbox.put(
            _Enqueue((request_id, function, qualifier, payload, client_context, now), future, loop)
        )
        await future

    def _run(self) -> None:
        try:
            self.store = open_store(self._url)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        store = self.store
        pending: _Call | _Enqueue | None = None
        while True:
            item = pending if pending is not None else self._inbox.get()
            pending = None
            if item is None:
                break
            if isinstance(item, _Call):
                try:
                    result = item.fn(store)
                except BaseException as exc:
                    item.loop.call_soon_threadsafe(_resolve, item.future, None, exc)
                else:
                    item.loop.call_soon_threadsafe(_resolve, item.future, result, None)
                continue
            group = [item]
            while len(group) < MAX_GROUP:
                try:
                    nxt = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(nxt, _Enqueue):
                    group.append(nxt)
                else:
                    pending = nxt
                    break
            error: BaseException | None = None
            try:
                store.events.enqueue_many([g.row for g in group])
            except BaseException as exc:
                error = exc
            # One wake-up of each event loop per group, not one per event.
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for g in group:
                by_loop.setdefault(g.loop, []).append(g.future)
            for loop, futures in by_loop.items():
                loop.call_soon_threadsafe(_resolve_all, futures, error)
        store.close()
