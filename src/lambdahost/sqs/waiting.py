"""Group commit for SQS writes, and in-process wakeups for long polling.

``GroupCommit`` hands writes to the store thread in batches: while one batch is
being committed, new writes queue up and are committed together in the next
transaction (one fsync for many SendMessage calls). A write is either a closure
(``run``) or a list of items that can be merged with other writes of the same
kind (``run_merged``: e.g. every send to one queue in the batch becomes one
multi-row insert). Each unit runs inside its own SAVEPOINT, so a failing unit is
rolled back alone; a failing merged unit is retried item list by item list, so
each caller gets its own outcome. A caller is answered only after its batch
committed.

``Arrivals`` lets long-polling receivers sleep until a queue may have
something for them. A receiver registers *before* it looks at the queue, so a
message committed between its look and its sleep still wakes it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from lambdahost.app.storethread import StoreThread
from lambdahost.store import Store

T = TypeVar("T")
MAX_GROUP = 256
log = logging.getLogger("lambdahost.sqs")

_Outcome = tuple[bool, Any]


@dataclass(frozen=True)
class Mergeable:
    """Items for ``apply(store, items) -> one result per item``; same ``key`` ones merge."""

    key: Hashable
    items: list[Any]
    apply: Callable[[Store, list[Any]], list[Any]]


Write = Callable[[Store], Any] | Mergeable


def _attempt(store: Store, fn: Callable[[Store], Any]) -> _Outcome:
    db = store.db
    db.execute("SAVEPOINT sqs_op")
    try:
        value = fn(store)
    except Exception as exc:
        db.execute("ROLLBACK TO SAVEPOINT sqs_op")
        db.execute("RELEASE SAVEPOINT sqs_op")
        return False, exc
    db.execute("RELEASE SAVEPOINT sqs_op")
    return True, value


def _merged(store: Store, writes: list[Mergeable]) -> list[_Outcome]:
    """Apply same-key writes in one call; one by one if that fails."""
    if len(writes) > 1:
        combined = [item for w in writes for item in w.items]
        ok, value = _attempt(store, lambda s: writes[0].apply(s, combined))
        if ok:
            out: list[_Outcome] = []
            start = 0
            for w in writes:
                out.append((True, value[start : start + len(w.items)]))
                start += len(w.items)
            return out
    return [_attempt(store, _bound(w)) for w in writes]


def _bound(write: Mergeable) -> Callable[[Store], Any]:
    return lambda s: write.apply(s, write.items)


def run_group(store: Store, *, writes: list[Write]) -> list[_Outcome]:
    """Run writes in one transaction; (ok, value-or-exception) for each, in order.

    Same-key mergeable writes run together where the first of them stands.
    """
    singles: dict[int, Callable[[Store], Any]] = {}
    merges: dict[Hashable, list[tuple[int, Mergeable]]] = {}
    order: list[int | Hashable] = []
    for index, write in enumerate(writes):
        if isinstance(write, Mergeable):
            if write.key not in merges:
                merges[write.key] = []
                order.append(("merge", write.key))
            merges[write.key].append((index, write))
        else:
            singles[index] = write
            order.append(index)
    results: list[_Outcome] = [(False, None)] * len(writes)
    with store.db.transaction():
        for unit in order:
            if isinstance(unit, int):
                results[unit] = _attempt(store, singles[unit])
                continue
            members = merges[unit[1]] if isinstance(unit, tuple) else []
            outcomes = _merged(store, [w for _, w in members])
            for (index, _), outcome in zip(members, outcomes, strict=True):
                results[index] = outcome
    return results


class GroupCommit:
    """Batches writes into shared transactions on the store thread."""

    def __init__(self, store: StoreThread) -> None:
        self._store = store
        self._pending: list[tuple[Write, asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, fn: Callable[[Store], T]) -> T:
        result: T = await self._submit(fn)
        return result

    async def run_merged(
        self, key: Hashable, items: list[Any], apply: Callable[[Store, list[Any]], list[Any]]
    ) -> list[Any]:
        """Apply ``items``, merged with same-``key`` writes of the batch; one result per item."""
        result: list[Any] = await self._submit(Mergeable(key, items, apply))
        return result

    async def _submit(self, write: Write) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((write, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain(), name="sqs-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # let writers the last commit answered queue up again
            batch = self._pending[:MAX_GROUP]
            del self._pending[:MAX_GROUP]
            writes = [w for w, _ in batch]
            try:
                results = await self._store.call(functools.partial(run_group, writes=writes))
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


async def sleep_until(
    waiter: asyncio.Future[None], timeout: float, interrupt: asyncio.Event | None
) -> None:
    """Sleep until a wakeup, the timeout, or the interrupt event (whichever comes first)."""
    if interrupt is None:
        await asyncio.wait({waiter}, timeout=timeout)
        return
    stopper: asyncio.Future[Any] = asyncio.ensure_future(interrupt.wait())
    either: set[asyncio.Future[Any]] = {waiter, stopper}
    try:
        await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
