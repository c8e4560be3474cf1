"""Store-thread operations the SQS backend runs through ``GroupCommit``.

Each takes the ``Store`` first and reads the injected clock when the store
thread runs it, so time is taken at the moment of the write. The ``*_many`` /
list-taking ones are ``Mergeable`` appliers: one call serves every same-kind
write of a commit group (one multi-row insert, one queue scan).
"""

from __future__ import annotations

from lambdahost.core.clock import Clock
from lambdahost.sqs.model import DEDUP_WINDOW_S
from lambdahost.sqs.repo import DeadLetter, MessageRepo, NewMessage, ReceiveOutcome, SendOutcome
from lambdahost.store import Store


def receive_now(
    store: Store,
    *,
    queue_id: int,
    clock: Clock,
    limit: int,
    visibility_s: float,
    dead_letter: DeadLetter | None,
) -> ReceiveOutcome:
    """One FIFO receive, timed when the store thread runs it."""
    return MessageRepo(store.db).receive(
        queue_id, True, clock.time(), limit, visibility_s, dead_letter
    )


def receive_many_now(
    store: Store,
    takers: list[tuple[int, float]],
    *,
    queue_id: int,
    clock: Clock,
    dead_letter: DeadLetter | None,
) -> list[ReceiveOutcome]:
    """Every standard-queue receive of this group for one queue, from one scan."""
    return MessageRepo(store.db).receive_many(queue_id, False, clock.time(), takers, dead_letter)


def send_now(
    store: Store, messages: list[NewMessage], *, queue_id: int, fifo: bool, clock: Clock
) -> list[SendOutcome]:
    """Store the messages of every send to one queue in this group (one multi-row insert)."""
    return MessageRepo(store.db).send_many(queue_id, fifo, messages, clock.time(), DEDUP_WINDOW_S)


def delete_now(store: Store, receipts: list[tuple[int, str]], *, queue_id: int) -> list[None]:
    MessageRepo(store.db).delete(queue_id, receipts)
    return [None] * len(receipts)
