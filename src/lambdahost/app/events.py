"""The Event dispatcher: runs stored asynchronous invocations until each is settled.

Loop: claim due events (a lease), run each through ``InvokeService``, then let
``core.retry`` decide: retry later (the event goes back on the queue with its
counters), or finish — deliver the invocation record to the on-success or
on-failure destination, the original event to the dead-letter queue, and only
then delete the event. A crash at any point leaves the event leased; leases
are released at start-up, so every accepted event runs at least once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING

from lambdahost.app.functions import Resolved
from lambdahost.app.invoke import InvokeReply
from lambdahost.core import records
from lambdahost.core.retry import (
    AttemptResult,
    Condition,
    Decision,
    EventState,
    after_attempt,
    before_attempt,
)
from lambdahost.errors import ApiError
from lambdahost.sandbox import SandboxError
from lambdahost.store import Store
from lambdahost.store.repos import EventRow

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

log = logging.getLogger("lambdahost.events")
EVENT_LEASE_S = 960.0  # longer than the 900 s maximum function timeout


def _claim(store: Store, *, now: float, limit: int) -> list[EventRow]:
    return store.events.claim(now, EVENT_LEASE_S, limit)


class EventDispatcher:
    def __init__(self, platform: Platform, workers: int = 8, poll_s: float = 1.0) -> None:
        self.platform = platform
        self.workers = workers
        self.poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        released = await self.platform.store.call(lambda s: s.events.release_all_leases())
        if released:
            log.info("re-queued %d events that were running when lambdahost stopped", released)
        self._task = asyncio.create_task(self._loop(), name="event-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _loop(self) -> None:
        ready = self.platform.invoker.events_ready
        while True:
            ready.clear()
            free = self.workers - len(self._running)
            batch: list[EventRow] = []
            if free > 0:
                claim = functools.partial(_claim, now=self.platform.clock.time(), limit=free)
                try:
                    batch = await self.platform.store.call(claim)
                except Exception:
                    log.exception("could not claim events; retrying")
            for row in batch:
                task = asyncio.create_task(self._settle(row))
                self._running.add(task)
                task.add_done_callback(self._finished)
            if batch and len(batch) == free:
                continue
            try:
                await asyncio.wait_for(ready.wait(), self.poll_s)
            except TimeoutError:
                pass

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self.platform.invoker.events_ready.set()

    async def _settle(self, row: EventRow) -> None:
        try:
            await self._attempt(row)
        except Exception:
            log.exception("event %s: unexpected failure; it will be retried", row.request_id)
            delay = 5.0 * self.platform.settings.event_time_scale
            retry_at = self.platform.clock.time() + delay
            await self.platform.store.call(lambda s: s.events.retry_later(row.seq, retry_at))

    async def _attempt(self, row: EventRow) -> None:
        platform = self.platform
        settings = await platform.invoke_configs.settings_for(row.function_name, row.qualifier)
        state = EventState(row.enqueued_at, row.function_errors, row.system_retries)
        early = before_attempt(state, settings.policy, platform.clock.time())
        if early is not None:
            await self._finish(row, None, None, early, row.function_errors)
            return
        try:
            resolved = await platform.invoker.resolve(row.function_name, row.qualifier)
        except ApiError as error:
            if error.status == 404:
                log.warning("event %s: %s; dropped", row.request_id, error.message)
                await platform.store.call(lambda s: s.events.complete([row.seq]))
                return
            raise
        reply: InvokeReply | None = None
        try:
            reply = await platform.invoker.invoke_sync(
                resolved, row.payload, request_id=row.request_id, client_context=row.client_context
            )
            result = AttemptResult.FUNCTION_ERROR if reply.function_error else AttemptResult.SUCCESS
        except ApiError as error:
            result = AttemptResult.THROTTLED if error.status == 429 else AttemptResult.SYSTEM_ERROR
        except SandboxError:
            result = AttemptResult.SYSTEM_ERROR
        if (
            result is AttemptResult.THROTTLED
            and platform.concurrency.reserved_for(row.function_name) == 0
        ):
            # Reserved concurrency 0: straight to the DLQ / on-failure destination, no retries.
            decision = Decision(condition=Condition.RETRIES_EXHAUSTED)
        else:
            decision = after_attempt(result, state, settings.policy, platform.clock.time())
        function_errors = row.function_errors + (result is AttemptResult.FUNCTION_ERROR)
        if decision.finished:
            await self._finish(row, resolved, reply, decision, function_errors)
            return
        system_retries = row.system_retries + (
            result in (AttemptResult.THROTTLED, AttemptResult.SYSTEM_ERROR)
        )
        retry_at = decision.retry_at or platform.clock.time()
        await platform.store.call(
            lambda s: s.events.record_attempt(
                row.seq,
                available_at=retry_at,
                function_errors=function_errors,
                system_retries=system_retries,
                last_response=reply.payload if reply else row.last_response,
                last_function_error=reply.function_error if reply else row.last_function_error,
                last_version=reply.executed_version if reply else row.last_version,
            )
        )
        platform.invoker.events_ready.set()

    async def _finish(
        self,
        row: EventRow,
        resolved: Resolved | None,
        reply: InvokeReply | None,
        decision: Decision,
        invoke_count: int,
    ) -> None:
        platform = self.platform
        settings = await platform.invoke_configs.settings_for(row.function_name, row.qualifier)
        condition = decision.condition
        assert condition is not None
        response = reply.payload if reply else row.last_response
        function_error = reply.function_error if reply else row.last_function_error
        version = reply.executed_version if reply else row.last_version
        if condition is Condition.SUCCESS:
            invoke_count += 1
        record = records.invocation_record(
            now=platform.clock.time(),
            request_id=row.request_id,
            function_arn=platform.arns.function(row.function_name, version or row.qualifier),
            condition=condition.value,
            invoke_count=invoke_count,
            request_payload=row.payload,
            executed_version=version,
            function_error=function_error,
            response_payload=response,
        )
        destination = settings.on_success if condition is Condition.SUCCESS else settings.on_failure
        if destination:
            await self._safely(platform.destinations.deliver(destination, record), destination)
        if condition is not Condition.SUCCESS:
            dlq = await self._dead_letter_target(row, resolved)
            if dlq:
                message = _error_message(response, condition)
                attributes = records.dlq_attributes(row.request_id, 200, message)
                await self._safely(
                    platform.destinations.dead_letter(dlq, row.payload, attributes), dlq
                )
        await platform.store.call(lambda s: s.events.complete([row.seq]))

    async def _dead_letter_target(self, row: EventRow, resolved: Resolved | None) -> str | None:
        if resolved is None:
            try:
                resolved = await self.platform.invoker.resolve(row.function_name, row.qualifier)
            except ApiError:
                return None
        target = (resolved.row.config.get("DeadLetterConfig") or {}).get("TargetArn")
        return str(target) if target else None

    @staticmethod
    async def _safely(delivery: object, target: str) -> None:
        try:
            await delivery  # type: ignore[misc]
        except Exception:
            log.exception("could not deliver to %s", target)


def _error_message(response: bytes | None, condition: Condition) -> str:
    if condition is Condition.EVENT_AGE_EXCEEDED and not response:
        return "Event age exceeded"
    if not response:
        return condition.value
    try:
        import json

        data = json.loads(response)
        if isinstance(data, dict) and "errorMessage" in data:
            return str(data["errorMessage"])
    except ValueError:
        pass
    return response.decode("utf-8", "replace")
