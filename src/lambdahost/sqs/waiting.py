"""Group commit for SQS writes, and in-process wakeups for long polling.

``GroupCommit`` hands write closures to the store thread in batches: while one
batch is being committed, new writes queue up and are committed together in the
next transaction (one fsync for many SendMessage calls). Each closure runs
inside its own SAVEPOINT, so one failing closure is rolled back alone and
reports its own exception. A caller is answered only after its batch committed.

``Arrivals`` lets long-polling receivers sleep until a queue may have
something for them. A receiver registers *before* it looks at the queue, so a
message committed between its look and its sleep still wakes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from lambdahost.app.storethread import StoreThread
from lambdahost.store import Store

T = TypeVar("T")
MAX_GROUP = 256
log = logging.getLogger("lambdahost.sqs")

_Outcome = tuple[bool, Any]


def run_group(store: Store, fns: list[Callable[[Store], Any]]) -> list[_Outcome]:
    """Run closures in one transaction, each in a savepoint; (ok, value-or-exception) each."""
    db = store.db
    results: list[_Outcome] = []
    with db.transaction():
        for fn in fns:
            db.execute("SAVEPOINT sqs_op")
            try:
                value = fn(store)
            except Exception as exc:
                db.execute("ROLLBACK TO SAVEPOINT sqs_op")
                db.execute("RELEASE SAVEPOINT sqs_op")
                results.append((False, exc))
                continue
            db.execute("RELEASE SAVEPOINT sqs_op")
            results.append((True, value))
    return results


class GroupCommit:
    """Batches write closures into shared transactions on the store thread."""

    def __init__(self, store: StoreThread) -> None:
        self._store = store
        self._pending: list[tuple[Callable[[Store], Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, fn: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((fn, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain(), name="sqs-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_GROUP]
            del self._pending[:MAX_GROUP]
            fns = [fn for fn, _ in batch]
            try:
                results = await self._store.call(lambda s: run_group(s, fns))
            except BaseException as exc:  # the transaction itself failed: everyone fails
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), (ok, value) in zip(batch, results, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)


class Arrivals:
    """Per-queue wakeups for receivers waiting on a long poll."""

    def __init__(self) -> None:
        self._waiters: dict[int, set[asyncio.Future[None]]] = {}

    def register(self, queue_id: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(queue_id, set()).add(future)
        return future

    def discard(self, queue_id: int, future: asyncio.Future[None]) -> None:
        waiting = self._waiters.get(queue_id)
        if waiting is not None:
            waiting.discard(future)
            if not waiting:
                del self._waiters[queue_id]

    def notify(self, queue_id: int) -> None:
        for future in self._waiters.pop(queue_id, ()):
            if not future.done():
                future.set_result(None)

    def notify_all(self) -> None:
        for queue_id in list(self._waiters):
            self.notify(queue_id)

    def waiting(self, queue_id: int) -> int:
        return len(self._waiters.get(queue_id, ()))
