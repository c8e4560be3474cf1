"""Group commit for durable writes: one transaction (one fsync) for every write waiting.

A caller awaits ``write`` until its ``Changes`` are committed. While one
transaction is running on the store thread, later writes queue up and go in the
next one, so concurrent checkpoints of many executions share commits while a
lone checkpoint pays one round trip to the store thread. If a grouped
transaction fails, each write is retried alone so one bad write fails only its
own caller. Writes are committed in the order they were requested.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from lambdahost.app.storethread import StoreThread
from lambdahost.durable.changes import Changes
from lambdahost.durable.repo import DurableRepo
from lambdahost.store import Store

log = logging.getLogger("lambdahost.durable")
T = TypeVar("T")
MAX_GROUP = 256


class GroupWriter:
    def __init__(self, store: StoreThread) -> None:
        self.store = store
        self._queue: list[tuple[list[Changes], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.commits = 0
        self.writes = 0

    async def write(self, *changes: Changes) -> None:
        batch = [c for c in changes if not c.empty() or c.children]
        if not batch:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((batch, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="durable-writer")
        await future

    async def read(self, fn: Callable[[DurableRepo], T]) -> T:
        return await self.store.call(lambda s: fn(DurableRepo(s.db)))

    async def _drain(self) -> None:
        while self._queue:
            group = self._queue[:MAX_GROUP]
            del self._queue[:MAX_GROUP]
            flat = [c for batch, _ in group for c in batch]
            try:
                await self.store.call(functools.partial(_apply, batch=flat))
                self.commits += 1
                self.writes += len(group)
                for _, future in group:
                    if not future.done():
                        future.set_result(None)
            except Exception as exc:
                if len(group) == 1:
                    _, future = group[0]
                    if not future.done():
                        future.set_exception(exc)
                    continue
                for batch, future in group:
                    try:
                        await self.store.call(functools.partial(_apply, batch=batch))
                        self.commits += 1
                        self.writes += 1
                        if not future.done():
                            future.set_result(None)
                    except Exception as exc:
                        if not future.done():
                            future.set_exception(exc)


def _apply(store: Store, batch: Sequence[Changes]) -> None:
    DurableRepo(store.db).apply(batch)
