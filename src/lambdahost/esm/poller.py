"""One mapping's poller: long-poll the queue, batch, filter, invoke, delete (I/O).

The receive loop takes a concurrency slot *before* it receives, so messages
are never held invisible while waiting for a slot; each batch is then handled
by its own task. ``ScalingConfig.MaximumConcurrency`` caps the number of slots.

Without a cap the poller starts with ``DEFAULT_CONCURRENCY`` slots and, like Lambda's
scaling, adds one slot per second while receives come back full (a backlog), up to
``MAX_CONCURRENCY``; it drops back to the start when the queue runs dry (``scale``).

A batch is invoked synchronously. Success deletes it; a function error, a
timeout or a platform error deletes nothing, so the messages reappear after the
queue's visibility timeout and reach its dead-letter queue through the redrive
policy. With ReportBatchItemFailures, everything except the reported messages
is deleted (``batch.item_failures`` decides). Messages that match no filter are
deleted without invoking.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lambdahost.core.arns import parse_function_name
from lambdahost.errors import ApiError
from lambdahost.esm import batch as wire
from lambdahost.esm.filtering import matches_any, parse_pattern, sqs_filter_view
from lambdahost.esm.model import MappingRecord

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform
    from lambdahost.sqs.service import ReceivedMessage

log = logging.getLogger("lambdahost.esm")
DEFAULT_CONCURRENCY = 5  # Lambda's initial pollers for an SQS source
MAX_CONCURRENCY = 1000  # Lambda's ceiling of concurrent batches per SQS mapping
SCALE_INTERVAL_S = 1.0  # one more slot per second at most (Lambda: up to 60 per minute)
LONG_POLL_S = 20.0
RETRY_PAUSE_S = 5.0
OK = "OK"
FUNCTION_FAILED = "PROBLEM: Function call failed"
FUNCTION_MISSING = "PROBLEM: Function not found"
QUEUE_MISSING = "PROBLEM: The event source queue does not exist"


def scale(
    capacity: int, ceiling: int, full: bool, empty: bool, now: float, last_change: float
) -> tuple[int, float]:
    """Next slot count: grow by one per interval while batches come back full, reset when dry."""
    start = min(DEFAULT_CONCURRENCY, ceiling)
    if empty:
        return start, last_change if capacity == start else now
    if full and capacity < ceiling and now - last_change >= SCALE_INTERVAL_S:
        return capacity + 1, now
    return capacity, last_change


async def wait_any(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Return when any event is set, or after ``timeout``."""
    if any(e.is_set() for e in events):
        return
    waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(e.wait()) for e in events}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


class MappingPoller:
    def __init__(self, platform: Platform, record: MappingRecord, report: Any) -> None:
        self.platform = platform
        self.record = record
        self.report = report  # async (uuid, result) -> None
        self.stopping = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._busy = 0
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        config = record.config
        self.ceiling = config.max_concurrency or MAX_CONCURRENCY
        self.capacity = min(DEFAULT_CONCURRENCY, self.ceiling)
        self._scaled_at = 0.0
        self.filters = [parse_pattern(p) for p in config.filters]
        ref = parse_function_name(record.function_arn)
        self.function_name, self.qualifier = ref.name, ref.qualifier

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"esm-{self.record.uuid}")

    async def stop(self) -> None:
        """Stop receiving, and let batches already received finish."""
        self.stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def kill(self) -> None:
        """Platform shutdown: cancel everything (unfinished messages simply reappear)."""
        self.stopping.set()
        tasks = [t for t in (self._task, *self._inflight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the receive loop ----------------------------------------------------------

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self._iteration()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event source mapping %s: poll failed", self.record.uuid)
                await wait_any(self.stopping, timeout=RETRY_PAUSE_S)

    async def _iteration(self) -> None:
        while self._busy >= self.capacity and not self.stopping.is_set():
            self._slot_free.clear()
            await wait_any(self._slot_free, self.stopping)
        if self.stopping.is_set():
            return
        try:
            await self.platform.invoker.resolve(self.function_name, self.qualifier)
        except ApiError:
            await self.report(self.record.uuid, FUNCTION_MISSING)
            await wait_any(self.stopping, timeout=RETRY_PAUSE_S)
            return
        try:
            messages = await self._collect()
        except ApiError:
            await self.report(self.record.uuid, QUEUE_MISSING)
            await wait_any(self.stopping, timeout=RETRY_PAUSE_S)
            return
        self.capacity, self._scaled_at = scale(
            self.capacity,
            self.ceiling,
            full=len(messages) >= min(self.record.config.batch_size, 10),
            empty=not messages,
            now=asyncio.get_running_loop().time(),
            last_change=self._scaled_at,
        )
        if not messages:
            return
        self._busy += 1
        task = asyncio.create_task(self._process(messages))
        self._inflight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._busy -= 1
        self._slot_free.set()

    async def _collect(self) -> list[ReceivedMessage]:
        """Long-poll for a first message, then fill the batch until the window closes."""
        sqs = self.platform.sqs
        arn = self.record.event_source_arn
        config = self.record.config
        got = await sqs.receive_messages(
            arn, config.batch_size, wait_seconds=LONG_POLL_S, interrupt=self.stopping
        )
        if not got or config.window_s <= 0:
            return got
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.window_s
        while len(got) < config.batch_size and not self.stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            got += await sqs.receive_messages(
                arn, config.batch_size - len(got), wait_seconds=remaining, interrupt=self.stopping
            )
        return got

    # -- one batch -------------------------------------------------------------------

    def _record(self, message: ReceivedMessage) -> dict[str, Any]:
        return wire.sqs_record(
            message_id=message.message_id,
            receipt_handle=message.receipt_handle,
            body=message.body,
            system=message.attributes,
            message_attributes=message.message_attributes,
            md5_of_body=message.md5_of_body,
            queue_arn=self.record.event_source_arn,
            region=self.platform.settings.region,
        )

    async def _process(self, messages: list[ReceivedMessage]) -> None:
        sqs = self.platform.sqs
        arn = self.record.event_source_arn
        records = [self._record(m) for m in messages]
        if self.filters:
            dropped = [
                r["receiptHandle"]
                for r in records
                if not matches_any(self.filters, sqs_filter_view(r))
            ]
            if dropped:
                await sqs.delete_messages(arn, dropped)
                gone = set(dropped)
                records = [r for r in records if r["receiptHandle"] not in gone]
            if not records:
                return
        records = await self._fit(records)
        try:
            resolved = await self.platform.invoker.resolve(self.function_name, self.qualifier)
            reply = await self.platform.invoker.invoke_sync(resolved, wire.event_payload(records))
        except ApiError as error:
            log.warning("event source mapping %s: invoke refused: %s", self.record.uuid, error)
            await self.report(self.record.uuid, f"PROBLEM: {error.message}")
            return
        except Exception:
            log.exception("event source mapping %s: invoke failed", self.record.uuid)
            await self.report(self.record.uuid, FUNCTION_FAILED)
            return
        if reply.function_error:
            await self.report(self.record.uuid, FUNCTION_FAILED)
            return
        done = [r["receiptHandle"] for r in records]
        if self.record.config.report_failures:
            failed = wire.item_failures(reply.payload, [r["messageId"] for r in records])
            if failed is None:
                await self.report(self.record.uuid, FUNCTION_FAILED)
                return
            done = [r["receiptHandle"] for r in records if r["messageId"] not in failed]
        await sqs.delete_messages(arn, done)
        await self.report(self.record.uuid, OK)

    async def _fit(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the event under the synchronous payload limit; release what does not fit."""
        limit = self.platform.settings.sync_payload_limit
        if wire.payload_size(records) <= limit:
            return records
        kept: list[dict[str, Any]] = []
        size = len(wire.event_payload([]))
        for record in records:
            extra = len(wire.event_payload([record])) - len(wire.event_payload([])) + 1
            if kept and size + extra > limit:
                break
            kept.append(record)
            size += extra
        for record in records[len(kept) :]:
            try:
                await self.platform.sqs.change_message_visibility(
                    self.record.event_source_arn, record["receiptHandle"], 0
                )
            except ApiError:
                pass
        return kept
