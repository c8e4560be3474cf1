"""Runs one poller per enabled event source mapping and settles mapping states.

Every change made through the API (``esm.service``) is written to the store in a
transitional state and then handed to ``schedule``: the supervisor reconciles
that mapping at once (start, restart or stop its poller; remove a deleted
mapping) and records the settled state (``Enabled``/``Disabled``). On start it
reconciles every stored mapping, so mappings and interrupted transitions
survive restarts. Single node: pollers run in this process only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lambdahost.esm import states
from lambdahost.esm.model import MappingRecord
from lambdahost.esm.poller import MappingPoller
from lambdahost.esm.repo import EsmRepo
from lambdahost.esm.service import EsmService
from lambdahost.esm.states import EsmState

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

log = logging.getLogger("lambdahost.esm")


def _same_work(a: MappingRecord, b: MappingRecord) -> bool:
    return (a.function_arn, a.event_source_arn, a.config) == (
        b.function_arn,
        b.event_source_arn,
        b.config,
    )


class EsmSupervisor:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.service = EsmService(platform, self)
        self._pollers: dict[str, MappingPoller] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: dict[str, str] = {}
        self._running = False

    async def start(self) -> None:
        self._running = True
        records = await self.platform.store.call(lambda s: EsmRepo(s.db).all())
        for record in records:
            self._results[record.uuid] = record.last_result
            await self.reconcile(record.uuid)

    async def stop(self) -> None:
        self._running = False
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        pollers = list(self._pollers.values())
        self._pollers.clear()
        await asyncio.gather(*(p.kill() for p in pollers), return_exceptions=True)

    def schedule(self, uuid: str) -> None:
        """Reconcile a mapping soon (after the API has answered)."""
        if not self._running:
            return
        task = asyncio.create_task(self.reconcile(uuid), name=f"esm-reconcile-{uuid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def poller(self, uuid: str) -> MappingPoller | None:
        return self._pollers.get(uuid)

    async def reconcile(self, uuid: str) -> None:
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        async with lock:
            try:
                await self._reconcile(uuid)
            except Exception:
                log.exception("could not reconcile event source mapping %s", uuid)

    async def _reconcile(self, uuid: str) -> None:
        store = self.platform.store
        record = await store.call(lambda s: EsmRepo(s.db).get(uuid))
        current = self._pollers.get(uuid)
        gone = record is None or record.state is EsmState.DELETING
        if current is not None and (
            gone
            or record is None
            or not record.config.enabled
            or not _same_work(current.record, record)
        ):
            del self._pollers[uuid]
            await current.stop()
        if record is None:
            self._locks.pop(uuid, None)
            return
        if record.state is EsmState.DELETING:
            await store.call(lambda s: EsmRepo(s.db).delete(uuid))
            self._results.pop(uuid, None)
            return
        if record.config.enabled and uuid not in self._pollers and self._running:
            poller = MappingPoller(self.platform, record, self.report)
            self._pollers[uuid] = poller
            poller.start()
        path = states.settle(uuid, record.state, record.config.enabled)
        if path:
            now = self.platform.clock.time()
            await store.call(lambda s: EsmRepo(s.db).set_state(uuid, path[-1], now))

    async def report(self, uuid: str, result: str) -> None:
        """Record a mapping's LastProcessingResult (written only when it changes)."""
        if self._results.get(uuid) == result:
            return
        self._results[uuid] = result
        await self.platform.store.call(lambda s: EsmRepo(s.db).set_last_result(uuid, result))
