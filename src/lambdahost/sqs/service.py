"""The SQS backend component and the endpoint's ``sqs`` service entry.

``SqsBackend`` owns queues and messages in the store. Every write goes through
``GroupCommit`` (committed before the caller is answered), long polls sleep on
in-process ``Arrivals`` wakeups, and a sweeper drops messages past retention.
The wire layer (``sqs.api``) validates requests and calls the methods below.

Internal Python API for the rest of lambdahost (all ``async``, queues by ARN):

- ``send_message(queue_arn, body, attributes=None) -> str``: store a message
  (``attributes`` in wire form, e.g. ``{"k": {"DataType": "String", "StringValue": "v"}}``)
  and return its MessageId; raises ``ApiError`` (``QueueDoesNotExist``, ...).
- ``queue_exists(queue_arn) -> bool``.
- ``queue_info(queue_arn) -> QueueInfo | None``: FIFO flag and visibility timeout.
- ``receive_messages(queue_arn, max_messages, *, wait_seconds=0.0,
  visibility_timeout=None, interrupt=None) -> list[ReceivedMessage]``: long-polls
  up to ``wait_seconds``; ``max_messages`` may exceed SQS's 10; ``interrupt``
  (an ``asyncio.Event``) ends the wait early.
- ``delete_messages(queue_arn, receipt_handles) -> None``.
- ``change_message_visibility(queue_arn, receipt_handle, timeout_s) -> None``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from lambdahost.api.services import Service
from lambdahost.errors import ApiError, StoreConflict
from lambdahost.sqs import errors, model, ops
from lambdahost.sqs.delivery import (
    Receipt,
    decode_receipt,
    encode_receipt,
    system_attributes,
)
from lambdahost.sqs.repo import (
    DeadLetter,
    MessageRepo,
    NewMessage,
    QueueRepo,
    QueueRow,
    ReceiveOutcome,
    StoredMessage,
)
from lambdahost.sqs.sending import SendEntry, SendResult, prepare
from lambdahost.sqs.waiting import Arrivals, GroupCommit, sleep_until
from lambdahost.store import Store

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

log = logging.getLogger("lambdahost.sqs")
T = TypeVar("T")
QUEUE_CACHE_S = 2.0
SAFETY_POLL_S = 5.0  # a long poll re-checks the store at least this often (other nodes' sends)
SWEEP_INTERVAL_S = 30.0


@dataclass(frozen=True)
class QueueInfo:
    arn: str
    url: str
    fifo: bool
    visibility_timeout: int


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    message_attributes: dict[str, dict[str, str]]
    attributes: dict[str, str]  # every system attribute; callers pick what was asked for


class SqsBackend:
    """Queues, messages and long polling over the store. Started with the platform."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.clock = platform.clock
        self.region = platform.settings.region
        self.account = platform.settings.account_id
        self._writes = GroupCommit(platform.store)
        self._arrivals = Arrivals()
        self._cache: dict[str, tuple[float, QueueRow | None]] = {}
        self._deleted: set[int] = set()
        self._stopping = False
        self._sweeper: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sqs-sweeper")

    async def stop(self) -> None:
        self._stopping = True
        self._arrivals.notify_all()
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self._write(lambda s: MessageRepo(s.db).sweep(self.clock.time()))
            except Exception:
                log.exception("sweeping expired SQS messages failed")
            await asyncio.sleep(SWEEP_INTERVAL_S)

    # -- plumbing --------------------------------------------------------------

    async def _write(self, fn: Callable[[Store], T]) -> T:
        return await self._writes.run(fn)

    def arn(self, name: str) -> str:
        return model.queue_arn(self.region, self.account, name)

    def url(self, name: str) -> str:
        return model.queue_url(self.platform.endpoint, self.account, name)

    async def queue(self, name: str) -> QueueRow | None:
        cached = self._cache.get(name)
        if cached is not None and time.monotonic() - cached[0] < QUEUE_CACHE_S:
            return cached[1]
        row = await self.platform.store.call(lambda s: QueueRepo(s.db).get(name))
        self._cache[name] = (time.monotonic(), row)
        return row

    async def require_url(self, url: Any) -> QueueRow:
        name = model.name_from_url(url, self.account) if isinstance(url, str) else None
        row = await self.queue(name) if name else None
        if row is None:
            raise errors.queue_does_not_exist()
        return row

    async def require_arn(self, arn: str) -> QueueRow:
        parsed = model.parse_arn(arn)
        row = None
        if parsed is not None and parsed[0] == self.region and parsed[1] == self.account:
            row = await self.queue(parsed[2])
        if row is None:
            raise errors.queue_does_not_exist()
        return row

    def _forget(self, name: str) -> None:
        self._cache.pop(name, None)

    def attributes_of(self, row: QueueRow) -> dict[str, str]:
        return model.effective_attributes(row.attributes, row.fifo)

    async def _check_redrive(self, attributes: dict[str, str], fifo: bool) -> None:
        text = attributes.get("RedrivePolicy")
        if not text:
            return
        policy = model.redrive_of(attributes)
        assert policy is not None
        parsed = model.parse_arn(policy.target_arn)
        target = await self.queue(parsed[2]) if parsed and parsed[1] == self.account else None
        if target is None:
            raise errors.invalid_value("RedrivePolicy", text, "Dead letter target does not exist.")
        if target.fifo != fifo:
            raise errors.invalid_value(
                "RedrivePolicy", text, "Dead-letter queue must be same type of queue as the source."
            )

    async def _dead_letter(self, row: QueueRow) -> DeadLetter | None:
        policy = model.redrive_of(row.attributes)
        if policy is None:
            return None
        parsed = model.parse_arn(policy.target_arn)
        target = await self.queue(parsed[2]) if parsed else None
        if target is None or target.id == row.id:
            return None
        retention = int(self.attributes_of(target)["MessageRetentionPeriod"])
        return DeadLetter(
            target.id, target.fifo, retention, policy.max_receive_count, self.arn(row.name)
        )

    # -- queues ------------------------------------------------------------------

    async def create_queue(self, name: str, given: dict[str, Any], tags: dict[str, str]) -> str:
        fifo = model.validate_queue_name(name, given.get("FifoQueue"))
        attributes = model.normalize_attributes(given, fifo, creating=True)
        await self._check_redrive(attributes, fifo)
        now = self.clock.time()
        try:
            await self._write(lambda s: QueueRepo(s.db).create(name, fifo, attributes, tags, now))
        except StoreConflict:
            self._forget(name)
            existing = await self.queue(name)
            if existing is None:
                raise errors.queue_does_not_exist() from None
            requested = dict(attributes)
            if "FifoQueue" in given:
                requested["FifoQueue"] = "true" if fifo else "false"
            current = self.attributes_of(existing)
            current.setdefault("FifoQueue", "true" if existing.fifo else "false")
            different = model.first_difference(requested, current)
            if different is not None:
                raise errors.queue_name_exists(different) from None
        self._forget(name)
        return self.url(name)

    async def list_queues(self, prefix: str, after: str, limit: int) -> list[str]:
        return await self.platform.store.call(
            lambda s: QueueRepo(s.db).list_names(prefix, after, limit)
        )

    async def delete_queue(self, row: QueueRow) -> None:
        await self._write(lambda s: QueueRepo(s.db).delete(row.id))
        self._forget(row.name)
        self._deleted.add(row.id)
        self._arrivals.notify(row.id)

    async def get_attributes(self, row: QueueRow, names: list[str]) -> dict[str, str]:
        wanted = model.select_attribute_names(names)
        values = {k: v for k, v in self.attributes_of(row).items() if k in wanted}
        if not row.fifo:
            values.pop("FifoQueue", None)
        if "QueueArn" in wanted:
            values["QueueArn"] = self.arn(row.name)
        if "CreatedTimestamp" in wanted:
            values["CreatedTimestamp"] = str(int(row.created_at))
        if "LastModifiedTimestamp" in wanted:
            values["LastModifiedTimestamp"] = str(int(row.modified_at))
        if wanted & {
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        }:
            now = self.clock.time()
            visible, in_flight, delayed = await self.platform.store.call(
                lambda s: QueueRepo(s.db).counts(row.id, now)
            )
            counts = {
                "ApproximateNumberOfMessages": visible,
                "ApproximateNumberOfMessagesNotVisible": in_flight,
                "ApproximateNumberOfMessagesDelayed": delayed,
            }
            values.update({k: str(v) for k, v in counts.items() if k in wanted})
        return values

    async def set_attributes(self, row: QueueRow, given: dict[str, Any]) -> None:
        changes = model.normalize_attributes(given, row.fifo, creating=False)
        await self._check_redrive(changes, row.fifo)
        merged = {**row.attributes, **changes}
        merged = {k: v for k, v in merged.items() if v != ""}
        now = self.clock.time()
        await self._write(lambda s: QueueRepo(s.db).set_attributes(row.id, merged, now))
        self._forget(row.name)

    async def set_tags(self, row: QueueRow, tags: dict[str, str]) -> None:
        await self._write(lambda s: QueueRepo(s.db).set_tags(row.id, tags))
        self._forget(row.name)

    async def dead_letter_sources(self, row: QueueRow) -> list[str]:
        arn = self.arn(row.name)
        names = await self.platform.store.call(lambda s: QueueRepo(s.db).dead_letter_sources(arn))
        return [self.url(n) for n in names]

    async def purge(self, row: QueueRow) -> None:
        now = self.clock.time()
        done = await self._write(
            lambda s: MessageRepo(s.db).purge(row.id, now, model.PURGE_INTERVAL_S)
        )
        if not done:
            raise errors.purge_in_progress(row.name)

    # -- messages ----------------------------------------------------------------

    async def send(
        self, row: QueueRow, entries: list[SendEntry], sender: str
    ) -> list[SendResult | ApiError]:
        """Validate and store entries (one transaction); a result or an error per entry."""
        now = self.clock.time()
        attributes = self.attributes_of(row)
        results: list[SendResult | ApiError] = []
        ready: list[tuple[int, NewMessage]] = []
        for index, entry in enumerate(entries):
            try:
                message, result = prepare(row.fifo, attributes, entry, sender, now)
            except ApiError as error:
                results.append(error)
                continue
            results.append(result)
            ready.append((index, message))
        if not ready:
            return results
        messages = [m for _, m in ready]
        outcomes = await self._writes.run_merged(
            ("send", row.id),
            messages,
            functools.partial(ops.send_now, queue_id=row.id, fifo=row.fifo, clock=self.clock),
        )
        for (index, _), outcome in zip(ready, outcomes, strict=True):
            done = results[index]
            assert isinstance(done, SendResult)
            results[index] = SendResult(
                outcome.message_id,
                done.md5_of_body,
                done.md5_of_attributes,
                done.md5_of_system_attributes,
                outcome.sequence_number,
            )
        self._arrivals.notify(row.id)
        return results

    def _received(self, row: QueueRow, m: StoredMessage) -> ReceivedMessage:
        values = system_attributes(
            sender_id=m.sender_id,
            sent_at=m.sent_at,
            receive_count=m.receive_count,
            first_received_at=m.first_received_at,
            group_id=m.group_id,
            dedup_id=m.dedup_id,
            sequence_number=m.sequence_number,
            extra=m.extra_system,
        )
        handle = encode_receipt(Receipt(row.id, m.seq, m.receipt))
        return ReceivedMessage(
            m.message_id, handle, m.body, m.md5_body, m.message_attributes, values
        )

    async def receive(
        self,
        row: QueueRow,
        max_messages: int,
        visibility_timeout: int | None,
        wait_seconds: float,
        interrupt: asyncio.Event | None = None,
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages``, waiting up to ``wait_seconds`` for the first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        visibility = (
            visibility_timeout
            if visibility_timeout is not None
            else int(self.attributes_of(row)["VisibilityTimeout"])
        )
        while True:
            waiter = self._arrivals.register(row.id)
            try:
                dead_letter = await self._dead_letter(row)
                outcome = await self._receive_once(row, max_messages, visibility, dead_letter)
                if outcome.redriven and dead_letter is not None:
                    self._arrivals.notify(dead_letter.queue_id)
                if outcome.messages:
                    return [self._received(row, m) for m in outcome.messages]
                if outcome.redriven or outcome.expired:
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0 or self._stopping or row.id in self._deleted:
                    return []
                pause = min(remaining, SAFETY_POLL_S)
                if outcome.next_visible_at is not None:
                    pause = min(
                        pause, max(0.0, outcome.next_visible_at - self.clock.time()) + 0.005
                    )
                await sleep_until(waiter, pause, interrupt)
                if interrupt is not None and interrupt.is_set():
                    return []
            finally:
                self._arrivals.discard(row.id, waiter)

    async def _receive_once(
        self, row: QueueRow, limit: int, visibility: float, dead_letter: DeadLetter | None
    ) -> ReceiveOutcome:
        """One look at the queue. Standard queues merge concurrent receives into one scan;
        FIFO receives stay apart, so one message group never goes to two receivers."""
        if row.fifo:
            return await self._write(
                functools.partial(
                    ops.receive_now,
                    queue_id=row.id,
                    clock=self.clock,
                    limit=limit,
                    visibility_s=visibility,
                    dead_letter=dead_letter,
                )
            )
        [outcome] = await self._writes.run_merged(
            ("receive", row.id, dead_letter),
            [(limit, visibility)],
            functools.partial(
                ops.receive_many_now, queue_id=row.id, clock=self.clock, dead_letter=dead_letter
            ),
        )
        result: ReceiveOutcome = outcome
        return result

    def _receipts(self, row: QueueRow, handles: list[Any]) -> list[Receipt | ApiError]:
        out: list[Receipt | ApiError] = []
        for handle in handles:
            receipt = decode_receipt(handle) if isinstance(handle, str) else None
            if receipt is None or receipt.queue_id != row.id:
                out.append(errors.receipt_handle_invalid(str(handle)))
            else:
                out.append(receipt)
        return out

    async def delete(self, row: QueueRow, handles: list[Any]) -> list[ApiError | None]:
        receipts = self._receipts(row, handles)
        valid = [(r.seq, r.token) for r in receipts if isinstance(r, Receipt)]
        if valid:
            await self._writes.run_merged(
                ("delete", row.id), valid, functools.partial(ops.delete_now, queue_id=row.id)
            )
            if row.fifo:
                self._arrivals.notify(row.id)
        return [r if isinstance(r, ApiError) else None for r in receipts]

    async def change_visibility(
        self, row: QueueRow, items: list[tuple[Any, Any]]
    ) -> list[ApiError | None]:
        receipts = self._receipts(row, [h for h, _ in items])
        results: list[ApiError | None] = []
        todo: list[tuple[int, Receipt, int]] = []
        for index, (receipt, (_, timeout)) in enumerate(zip(receipts, items, strict=True)):
            if isinstance(receipt, ApiError):
                results.append(receipt)
            elif not isinstance(timeout, int) or not 0 <= timeout <= model.MAX_VISIBILITY_S:
                results.append(
                    errors.invalid_value(
                        "VisibilityTimeout", timeout, "Must be between 0 and 43200, if provided."
                    )
                )
            else:
                results.append(None)
                todo.append((index, receipt, timeout))

        def apply(store: Store) -> list[bool]:
            now = self.clock.time()
            repo = MessageRepo(store.db)
            return [
                repo.change_visibility(row.id, r.seq, r.token, now + t, now) for _, r, t in todo
            ]

        if todo:
            changed = await self._write(apply)
            for (index, _, timeout), ok in zip(todo, changed, strict=True):
                if not ok:
                    results[index] = errors.message_not_in_flight(str(items[index][0]))
                elif timeout == 0:
                    self._arrivals.notify(row.id)
        return results

    # -- internal API (queues by ARN) ----------------------------------------------

    async def queue_exists(self, queue_arn: str) -> bool:
        try:
            await self.require_arn(queue_arn)
        except ApiError:
            return False
        return True

    async def queue_info(self, queue_arn: str) -> QueueInfo | None:
        try:
            row = await self.require_arn(queue_arn)
        except ApiError:
            return None
        visibility = int(self.attributes_of(row)["VisibilityTimeout"])
        return QueueInfo(queue_arn, self.url(row.name), row.fifo, visibility)

    async def send_message(
        self, queue_arn: str, body: str, attributes: dict[str, dict[str, Any]] | None = None
    ) -> str:
        row = await self.require_arn(queue_arn)
        [result] = await self.send(row, [SendEntry(body, attributes)], self.account)
        if isinstance(result, ApiError):
            raise result
        return result.message_id

    async def receive_messages(
        self,
        queue_arn: str,
        max_messages: int,
        *,
        wait_seconds: float = 0.0,
        visibility_timeout: int | None = None,
        interrupt: asyncio.Event | None = None,
    ) -> list[ReceivedMessage]:
        row = await self.require_arn(queue_arn)
        return await self.receive(row, max_messages, visibility_timeout, wait_seconds, interrupt)

    async def delete_messages(self, queue_arn: str, receipt_handles: list[str]) -> None:
        if receipt_handles:
            row = await self.require_arn(queue_arn)
            await self.delete(row, list(receipt_handles))

    async def change_message_visibility(
        self, queue_arn: str, receipt_handle: str, timeout_s: int
    ) -> None:
        row = await self.require_arn(queue_arn)
        [error] = await self.change_visibility(row, [(receipt_handle, timeout_s)])
        if error is not None:
            raise error


def build_service(platform: Platform) -> Service:
    from lambdahost.sqs.api import SqsApi

    api = SqsApi(platform.sqs)
    return Service("sqs", "json", api.handle, errors.render, target_prefixes=("AmazonSQS.",))
