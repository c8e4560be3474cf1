"""The durable-execution engine: starts executions, runs invocations, owns timers.

The engine is the only writer of durable state on this node. It keeps the
executions it is working on in memory (authoritative while it runs) and writes
every decision of the pure core (``journal``, ``lifecycle``) through the
group-commit writer before anyone is told about it. Invocations of one
execution never overlap: ``kick`` starts a driver task per execution, and
triggers that arrive while it runs only set a flag the driver checks before it
exits. Timers live in the store and in one in-memory heap; the heap is rebuilt
at start, and executions that wanted an invocation when the server stopped
are kicked again. API operations are in ``service``; HTTP in ``routes``.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import json
import logging
import os
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lambdahost.api.http import Request, Response
from lambdahost.app.functions import Resolved
from lambdahost.durable import chained, frontend
from lambdahost.durable import changes as C
from lambdahost.durable.changes import Changes
from lambdahost.durable.journal import Target
from lambdahost.durable.lifecycle import (
    EVENT_PAGE_BYTES,
    Next,
    begin_invocation,
    child_outcome,
    complete_chained,
    end_invocation,
    fire_timer,
)
from lambdahost.durable.model import Execution, ExecutionStatus
from lambdahost.durable.repo import DurableRepo
from lambdahost.durable.updates import Update
from lambdahost.durable.writer import GroupWriter
from lambdahost.errors import ApiError

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform
    from lambdahost.durable.service import DurableService

log = logging.getLogger("lambdahost.durable")
TimerKey = tuple[str, str, str]
DRIVER_RETRY_S = 1.0


def _new_callback_id() -> str:
    return secrets.token_hex(24)


class DurableEngine:
    def __init__(
        self,
        platform: Platform,
        *,
        max_invocations: int | None = None,
        cache_size: int = 20_000,
        sweep_interval_s: float = 60.0,
        sync_wait_s: float = 900.0,
    ) -> None:
        self.platform = platform
        self.clock = platform.clock
        self.writer = GroupWriter(platform.store)
        self.boot = secrets.randbits(32)
        self.new_id: Callable[[], str] = lambda: uuid.uuid4().hex
        self.new_callback_id: Callable[[], str] = _new_callback_id
        self.retry_delay_s = max(0.01, platform.settings.event_time_scale)
        self.cache_size = cache_size
        self.sweep_interval_s = sweep_interval_s
        self.sync_wait_s = sync_wait_s
        self.event_page_bytes = EVENT_PAGE_BYTES
        self._cache: OrderedDict[str, Execution] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Execution | None]] = {}
        self._pending_writes: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._driving: set[str] = set()
        self.running_targets: set[tuple[str, str]] = set()
        self._waiters: dict[str, list[asyncio.Future[Execution]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._heap: list[tuple[float, int, TimerKey]] = []
        self._due: dict[TimerKey, float] = {}
        self._seq = itertools.count()
        self._timer_wake = asyncio.Event()
        # Invocations of different executions run in parallel up to this many; a burst of
        # cold starts (each imports boto3 and the SDK) must not starve the CPU.
        self.max_invocations = max_invocations or max(8, 4 * (os.cpu_count() or 1))
        self._slots = asyncio.Semaphore(self.max_invocations)
        self._loops: list[asyncio.Task[None]] = []
        self.invocations = 0
        from lambdahost.durable.service import DurableService

        self.api: DurableService = DurableService(self)

    # -- lifecycle ---------------------------------------------------------------

    def now(self) -> float:
        return round(self.clock.time(), 3)

    def is_durable(self, resolved: Resolved) -> bool:
        """Whether invoking this version starts or continues a durable execution."""
        return bool(resolved.row.config.get("DurableConfig"))

    async def start(self) -> None:
        await self.recover()
        self._loops = [
            asyncio.create_task(self._timer_loop(), name="durable-timers"),
            asyncio.create_task(self._sweep_loop(), name="durable-retention"),
        ]

    async def recover(self) -> None:
        """Re-arm every stored timer and re-invoke executions that wanted an invocation."""
        for row in await self.writer.read(DurableRepo.timers):
            self._schedule((row.arn, row.op_id, row.kind), row.due)
        for arn in await self.writer.read(DurableRepo.wanted):
            self.kick(arn)

    async def idle(self) -> None:
        """Wait until no driver, timer or chained-invoke task is running (for tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- state ---------------------------------------------------------------------

    def lock(self, arn: str) -> asyncio.Lock:
        lock = self._locks.get(arn)
        if lock is None:
            lock = self._locks[arn] = asyncio.Lock()
        return lock

    async def get(self, arn: str) -> Execution | None:
        ex = self._cache.get(arn)
        if ex is not None:
            self._cache.move_to_end(arn)
            return ex
        loading = self._loading.get(arn)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[Execution | None] = asyncio.get_running_loop().create_future()
        self._loading[arn] = future
        try:
            ex = await self.writer.read(lambda repo: repo.load(arn))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            self._loading.pop(arn, None)
        if ex is not None:
            ex = self._remember(ex)
        future.set_result(ex)
        return ex

    def _remember(self, ex: Execution) -> Execution:
        existing = self._cache.get(ex.arn)
        if existing is not None:
            return existing
        self._cache[ex.arn] = ex
        while len(self._cache) > self.cache_size:
            if not self._evict_one():
                break
        return ex

    def _evict_one(self) -> bool:
        for arn, ex in self._cache.items():
            if (
                not ex.rt.invoking
                and arn not in self._driving
                and not self._pending_writes.get(arn)
                and not self._waiters.get(arn)
            ):
                del self._cache[arn]
                self._locks.pop(arn, None)
                return True
        return False

    def peek(self, arn: str) -> Execution | None:
        """The in-memory execution, if it is loaded (no I/O)."""
        return self._cache.get(arn)

    def forget(self, arn: str) -> None:
        self._cache.pop(arn, None)
        self._locks.pop(arn, None)

    async def commit(self, changes: Changes) -> None:
        """Persist a decision (and its chained-parent consequences), then act on it."""
        await self._link_parents(changes)
        flat = changes.flatten()
        for ch in flat:
            arn = ch.execution.arn
            self._pending_writes[arn] = self._pending_writes.get(arn, 0) + 1
        try:
            await self.writer.write(changes)
        except BaseException:
            for ch in flat:
                if not ch.insert:
                    self.forget(ch.execution.arn)
            raise
        finally:
            for ch in flat:
                arn = ch.execution.arn
                left = self._pending_writes.get(arn, 1) - 1
                if left:
                    self._pending_writes[arn] = left
                else:
                    self._pending_writes.pop(arn, None)
        for ch in flat:
            self._after(ch)

    async def _link_parents(self, changes: Changes) -> None:
        for ch in changes.flatten():
            child = ch.execution
            if not ch.closed or child.parent is None:
                continue
            parent = await self.get(child.parent[0])
            if parent is None:
                continue
            status, result, error = child_outcome(child)
            linked = complete_chained(
                parent, child.parent[1], status, self.now(), result=result, error=error
            )
            if linked is not None:
                ch.children.append(linked)

    def _after(self, ch: Changes) -> None:
        ex = ch.execution
        if ch.insert:
            self._remember(ex)
        for key in ch.timers_del:
            self._due.pop((ex.arn, key[0], key[1]), None)
        for key, due in ch.timers_set.items():
            self._schedule((ex.arn, key[0], key[1]), due)
        if ch.closed:
            for future in self._waiters.pop(ex.arn, []):
                if not future.done():
                    future.set_result(ex)
        for op_id in ch.targets:
            self._spawn(self._run_target(ex.arn, op_id), name="durable-target")
        if ch.wake and not ex.closed:
            self.kick(ex.arn)

    # -- invocations -------------------------------------------------------------------

    def kick(self, arn: str) -> None:
        """Make sure an invocation follows; never two at once for one execution."""
        if arn in self._driving:
            return
        self._driving.add(arn)
        self._spawn(self._drive(arn), name="durable-drive")

    async def _drive(self, arn: str) -> None:
        try:
            while True:
                ex = await self.get(arn)
                if ex is None or ex.status is not ExecutionStatus.RUNNING:
                    return
                async with self._slots:
                    again = await self._invoke_once(ex)
                if not again and not (
                    ex.rt.wake
                    and ex.status is ExecutionStatus.RUNNING
                    and self._cache.get(arn) is ex
                ):
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            # Most likely the store refused a write; the in-memory state was dropped, so try
            # again from what is on disk in a moment.
            log.exception("durable execution %s: driver failed; retrying", arn)
            asyncio.get_running_loop().call_later(DRIVER_RETRY_S, self.kick, arn)
        finally:
            self._driving.discard(arn)

    async def _invoke_once(self, ex: Execution) -> bool:
        request_id = str(uuid.uuid4())
        payload: bytes
        function_error: str | None
        try:
            resolved = await self.platform.invoker.resolve(ex.function_name, ex.version)
        except ApiError as exc:
            resolved = None
            payload = json.dumps({"errorType": exc.code, "errorMessage": exc.message}).encode()
            function_error = "Unhandled"
        event = begin_invocation(ex, self.now(), self.boot, request_id, self.event_page_bytes)
        self.invocations += 1
        if resolved is not None:
            try:
                reply = await self.platform.invoker.invoke_sync(
                    resolved, json.dumps(event).encode(), request_id=request_id
                )
                payload, function_error = reply.payload, reply.function_error
            except Exception as exc:
                log.exception("durable execution %s: invocation failed in the platform", ex.arn)
                payload = json.dumps(
                    {"errorType": "ServiceException", "errorMessage": str(exc)}
                ).encode()
                function_error = "Unhandled"
        end = end_invocation(
            ex,
            payload=payload,
            function_error=function_error,
            now=self.now(),
            retry_delay_s=self.retry_delay_s,
        )
        await self.commit(end.changes)
        return end.next is Next.AGAIN

    async def _run_target(self, arn: str, op_id: str) -> None:
        await chained.run_plain(self, arn, op_id)

    async def resolve_targets(self, ex: Execution, updates: list[Update]) -> dict[str, Target]:
        """Resolve the functions named by CHAINED_INVOKE starts (I/O, before the pure apply)."""
        return await chained.resolve(self, updates)

    # -- Invoke ------------------------------------------------------------------------

    async def invoke(
        self, request: Request, name: str, qualifier: str | None, resolved: Resolved
    ) -> Response:
        """Handle an Invoke of a durable function (any invocation type)."""
        return await frontend.invoke(self, request, qualifier, resolved)

    async def wait_closed(self, arn: str, timeout: float) -> Execution | None:
        ex = await self.get(arn)
        if ex is None or ex.closed:
            return ex
        future: asyncio.Future[Execution] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(arn, []).append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return ex
        finally:
            waiting = self._waiters.get(arn)
            if waiting and future in waiting:
                waiting.remove(future)

    # -- timers ------------------------------------------------------------------------

    def _schedule(self, key: TimerKey, due: float) -> None:
        self._due[key] = due
        heapq.heappush(self._heap, (due, next(self._seq), key))
        if self._heap[0][2] == key:
            self._timer_wake.set()

    def _pop_due(self, now: float) -> list[TimerKey]:
        keys = []
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._due.get(key) == due:
                del self._due[key]
                keys.append(key)
        return keys

    async def run_due(self, now: float | None = None) -> int:
        """Fire every timer due at ``now`` (default: the clock) and wait for them; for tests."""
        moment = self.now() if now is None else now
        keys = self._pop_due(moment)
        await asyncio.gather(*(self._fire(key, moment) for key in keys))
        return len(keys)

    async def _timer_loop(self) -> None:
        while True:
            now = self.now()
            for key in self._pop_due(now):
                self._spawn(self._fire(key, now), name="durable-timer")
            delay = self._heap[0][0] - self.clock.time() if self._heap else 60.0
            self._timer_wake.clear()
            try:
                await asyncio.wait_for(self._timer_wake.wait(), max(0.0, min(delay, 60.0)))
            except TimeoutError:
                pass

    async def _fire(self, key: TimerKey, now: float) -> None:
        arn, op_id, kind = key
        try:
            if kind == C.TARGET:
                await self._run_target(arn, op_id)
                return
            ex = await self.get(arn)
            if ex is None:
                return
            async with self.lock(arn):
                ch = fire_timer(ex, op_id, kind, now)
                await self.commit(ch)
        except Exception:
            log.exception("durable execution %s: timer %s/%s failed", arn, op_id, kind)

    # -- retention -----------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval_s)
            try:
                await self.sweep()
            except Exception:
                log.exception("durable retention sweep failed")

    async def sweep(self, now: float | None = None) -> int:
        """Remove executions whose retention period has passed; returns how many."""
        moment = self.clock.time() if now is None else now
        removed = 0
        while True:
            arns = await self.writer.read(lambda r: r.expired(moment, 500))
            if not arns:
                return removed
            await self.writer.read(functools.partial(DurableRepo.delete, arns=arns))
            for arn in arns:
                self.forget(arn)
                for key in [k for k in self._due if k[0] == arn]:
                    del self._due[key]
            removed += len(arns)

    # -- for a CLI ------------------------------------------------------------------

    async def list_executions(
        self,
        function_name: str,
        *,
        qualifier: str | None = None,
        statuses: tuple[str, ...] = (),
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Executions of a function, newest first (``ListDurableExecutionsByFunction``)."""
        return await self.api.list_all(function_name, qualifier, statuses, limit)

    async def history_timeline(self, arn: str) -> list[dict[str, Any]]:
        """The execution's history as timeline rows (offset, event, operation, details)."""
        return await self.api.timeline(arn)

    async def send_callback(
        self,
        callback_id: str,
        *,
        result: bytes | None = None,
        error: dict[str, Any] | None = None,
        heartbeat: bool = False,
    ) -> None:
        """Complete (or heartbeat) a callback the way an external system would."""
        if heartbeat:
            await self.api.callback_heartbeat(callback_id)
        elif error is not None:
            await self.api.callback_failure(callback_id, error)
        else:
            await self.api.callback_success(callback_id, result or b"")

    async def stop_execution(self, arn: str, error: dict[str, Any] | None = None) -> float:
        """Stop a running execution; returns the stop timestamp."""
        return float((await self.api.stop(arn, error or {}))["StopTimestamp"])

    async def describe(self, arn: str) -> dict[str, Any]:
        """``GetDurableExecution`` of one execution."""
        return await self.api.get_execution(arn, include_data=True)
