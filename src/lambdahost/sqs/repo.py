"""SQS storage over one ``Database``: queues, messages, FIFO deduplication records.

SQL is written once with ``?`` placeholders for both dialects. Every method
takes ``now`` (epoch seconds) from the caller's injected clock. Receives lock
what they take: on PostgreSQL standard queues use ``FOR UPDATE SKIP LOCKED``
(concurrent receivers take different messages); FIFO receives lock the queue
row first, so two receivers can never split one message group. On SQLite the
single writer (``BEGIN IMMEDIATE``) serialises them anyway. The delivery
decisions themselves are the pure ``delivery.plan_receive``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from lambdahost.sqs.delivery import Candidate, new_token, plan_receive, sequence_number
from lambdahost.store.db import Database, Row

_QUEUE_COLS = "id, name, fifo, attributes, tags, created_at, modified_at"
_MESSAGE_COLS = (
    "m.seq, m.message_id, m.body, m.md5_body, m.message_attributes, m.system_attributes,"
    " m.sender_id, m.sent_at, m.receive_count, m.first_received_at, m.group_id, m.dedup_id,"
    " m.sequence_number, m.expires_at"
)


@dataclass(frozen=True)
class QueueRow:
    id: int
    name: str
    fifo: bool
    attributes: dict[str, str]  # as set; defaults are added by model.effective_attributes
    tags: dict[str, str]
    created_at: float
    modified_at: float


@dataclass(frozen=True)
class NewMessage:
    message_id: str
    body: str
    md5_body: str
    message_attributes: dict[str, dict[str, str]]
    system_attributes: dict[str, str]
    sender_id: str
    sent_at: float
    visible_at: float
    expires_at: float
    group_id: str | None = None
    dedup_id: str | None = None
    dedup_key: str | None = None  # FIFO only


@dataclass(frozen=True)
class SendOutcome:
    message_id: str
    sequence_number: str | None
    duplicate: bool = False


@dataclass(frozen=True)
class StoredMessage:
    seq: int
    message_id: str
    body: str
    md5_body: str
    message_attributes: dict[str, dict[str, str]]
    extra_system: dict[str, str]  # AWSTraceHeader, DeadLetterQueueSourceArn
    sender_id: str
    sent_at: float
    receive_count: int
    first_received_at: float | None
    group_id: str | None
    dedup_id: str | None
    sequence_number: str | None
    receipt: str = ""


@dataclass(frozen=True)
class DeadLetter:
    """Where a receive moves messages that were received ``max_receive_count`` times."""

    queue_id: int
    fifo: bool
    retention_s: int
    max_receive_count: int
    source_arn: str


@dataclass
class ReceiveOutcome:
    messages: list[StoredMessage] = field(default_factory=list)
    redriven: int = 0
    expired: int = 0
    next_visible_at: float | None = None


def _queue(row: Row) -> QueueRow:
    return QueueRow(
        int(row[0]),
        row[1],
        bool(row[2]),
        json.loads(row[3]),
        json.loads(row[4]),
        float(row[5]),
        float(row[6]),
    )


def _message(row: Row) -> StoredMessage:
    return StoredMessage(
        seq=int(row[0]),
        message_id=row[1],
        body=row[2],
        md5_body=row[3],
        message_attributes=json.loads(row[4]) if row[4] else {},
        extra_system=json.loads(row[5]) if row[5] else {},
        sender_id=row[6],
        sent_at=float(row[7]),
        receive_count=int(row[8]),
        first_received_at=float(row[9]) if row[9] is not None else None,
        group_id=row[10],
        dedup_id=row[11],
        sequence_number=row[12],
    )


def _json_or_none(value: dict[str, Any]) -> str | None:
    return json.dumps(value, separators=(",", ":")) if value else None


class QueueRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, name: str, fifo: bool, attributes: dict[str, str], tags: dict[str, str], now: float
    ) -> QueueRow:
        """Insert a queue; raises ``StoreConflict`` if the name is taken."""
        self.db.execute(
            "INSERT INTO sqs_queues (name, fifo, attributes, tags, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (name, int(fifo), json.dumps(attributes), json.dumps(tags), now, now),
        )
        found = self.get(name)
        assert found is not None
        return found

    def get(self, name: str) -> QueueRow | None:
        rows = self.db.execute(f"SELECT {_QUEUE_COLS} FROM sqs_queues WHERE name = ?", (name,))
        return _queue(rows[0]) if rows else None

    def list_names(self, prefix: str, after: str, limit: int) -> list[str]:
        rows = self.db.execute(
            "SELECT name FROM sqs_queues WHERE name > ? AND substr(name, 1, ?) = ?"
            " ORDER BY name LIMIT ?",
            (after, len(prefix), prefix, limit),
        )
        return [r[0] for r in rows]

    def delete(self, queue_id: int) -> bool:
        with self.db.transaction():
            self.db.execute("DELETE FROM sqs_messages WHERE queue_id = ?", (queue_id,))
            self.db.execute("DELETE FROM sqs_dedup WHERE queue_id = ?", (queue_id,))
            rows = self.db.execute("DELETE FROM sqs_queues WHERE id = ? RETURNING id", (queue_id,))
            return bool(rows)

    def set_attributes(self, queue_id: int, attributes: dict[str, str], now: float) -> None:
        self.db.execute(
            "UPDATE sqs_queues SET attributes = ?, modified_at = ? WHERE id = ?",
            (json.dumps(attributes), now, queue_id),
        )

    def set_tags(self, queue_id: int, tags: dict[str, str]) -> None:
        self.db.execute("UPDATE sqs_queues SET tags = ? WHERE id = ?", (json.dumps(tags), queue_id))

    def dead_letter_sources(self, target_arn: str) -> list[str]:
        rows = self.db.execute(
            "SELECT name, attributes FROM sqs_queues WHERE attributes LIKE ? ORDER BY name",
            (f"%{target_arn}%",),
        )
        found = []
        for name, text in rows:
            policy = json.loads(text).get("RedrivePolicy")
            if policy and json.loads(policy).get("deadLetterTargetArn") == target_arn:
                found.append(name)
        return found

    def counts(self, queue_id: int, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed) messages that have not expired."""
        rows = self.db.execute(
            "SELECT COALESCE(SUM(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count > 0 THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count = 0 THEN 1 ELSE 0 END), 0)"
            " FROM sqs_messages WHERE queue_id = ? AND expires_at > ?",
            (now, now, now, queue_id, now),
        )
        return int(rows[0][0]), int(rows[0][1]), int(rows[0][2])


class MessageRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def _pg(self) -> bool:
        return self.db.dialect == "postgres"

    def _insert(self, queue_id: int, rows: list[tuple[NewMessage, str | None]]) -> None:
        self.db.execute_many(
            "INSERT INTO sqs_messages (queue_id, message_id, body, md5_body, message_attributes,"
            " system_attributes, sender_id, sent_at, visible_at, expires_at, receive_count,"
            " group_id, dedup_id, sequence_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            [
                (
                    queue_id,
                    m.message_id,
                    m.body,
                    m.md5_body,
                    _json_or_none(m.message_attributes),
                    _json_or_none(m.system_attributes),
                    m.sender_id,
                    m.sent_at,
                    m.visible_at,
                    m.expires_at,
                    m.group_id,
                    m.dedup_id,
                    seqno,
                )
                for m, seqno in rows
            ],
        )

    def _next_sequence(self, queue_id: int) -> int:
        lock = " FOR UPDATE" if self._pg else ""
        rows = self.db.execute(
            "SELECT next_sequence FROM sqs_queues WHERE id = ?" + lock, (queue_id,)
        )
        return int(rows[0][0]) if rows else 0

    def send_many(
        self, queue_id: int, fifo: bool, messages: list[NewMessage], now: float, dedup_s: float
    ) -> list[SendOutcome]:
        """Store messages in one transaction; FIFO messages are deduplicated and numbered."""
        with self.db.transaction():
            if not fifo:
                self._insert(queue_id, [(m, None) for m in messages])
                return [SendOutcome(m.message_id, None) for m in messages]
            counter = self._next_sequence(queue_id)
            outcomes: list[SendOutcome] = []
            fresh: list[tuple[NewMessage, str | None]] = []
            for m in messages:
                found = self.db.execute(
                    "SELECT message_id, sequence_number FROM sqs_dedup"
                    " WHERE queue_id = ? AND dedup_key = ? AND expires_at > ?",
                    (queue_id, m.dedup_key, now),
                )
                if found:
                    outcomes.append(SendOutcome(found[0][0], found[0][1], duplicate=True))
                    continue
                counter += 1
                seqno = sequence_number(counter)
                self.db.execute(
                    "INSERT INTO sqs_dedup (queue_id, dedup_key, message_id, sequence_number,"
                    " expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (queue_id, dedup_key) DO UPDATE"
                    " SET message_id = excluded.message_id,"
                    " sequence_number = excluded.sequence_number, expires_at = excluded.expires_at",
                    (queue_id, m.dedup_key, m.message_id, seqno, now + dedup_s),
                )
                fresh.append((m, seqno))
                outcomes.append(SendOutcome(m.message_id, seqno))
            if fresh:
                self._insert(queue_id, fresh)
                self.db.execute(
                    "UPDATE sqs_queues SET next_sequence = ? WHERE id = ?", (counter, queue_id)
                )
            return outcomes

    def _candidates(self, queue_id: int, fifo: bool, now: float, limit: int) -> list[Row]:
        if fifo:
            if self._pg:
                self.db.execute("SELECT id FROM sqs_queues WHERE id = ? FOR UPDATE", (queue_id,))
            return self.db.execute(
                f"SELECT {_MESSAGE_COLS} FROM sqs_messages m WHERE m.queue_id = ?"
                " AND m.visible_at <= ? AND NOT EXISTS (SELECT 1 FROM sqs_messages b"
                " WHERE b.queue_id = m.queue_id AND b.group_id = m.group_id AND b.visible_at > ?)"
                " ORDER BY m.seq LIMIT ?",
                (queue_id, now, now, limit),
            )
        lock = " FOR UPDATE SKIP LOCKED" if self._pg else ""
        return self.db.execute(
            f"SELECT {_MESSAGE_COLS} FROM sqs_messages m WHERE m.queue_id = ? AND m.visible_at <= ?"
            " ORDER BY m.visible_at, m.seq LIMIT ?" + lock,
            (queue_id, now, limit),
        )

    def receive(
        self,
        queue_id: int,
        fifo: bool,
        now: float,
        limit: int,
        visibility_s: float,
        dead_letter: DeadLetter | None,
    ) -> ReceiveOutcome:
        """Receive up to ``limit`` messages: make them invisible and give them new receipts."""
        return self.receive_many(queue_id, fifo, now, [(limit, visibility_s)], dead_letter)[0]

    def receive_many(
        self,
        queue_id: int,
        fifo: bool,
        now: float,
        takers: list[tuple[int, float]],
        dead_letter: DeadLetter | None,
    ) -> list[ReceiveOutcome]:
        """Serve several receives, each (limit, visibility timeout), from one scan of the queue.

        Messages go to the takers in queue order. Redrives and expiries are shared news:
        every outcome reports them, so empty-handed receivers look again at once.
        """
        outcomes = [ReceiveOutcome() for _ in takers]
        total = sum(limit for limit, _ in takers)
        with self.db.transaction():
            rows = self._candidates(queue_id, fifo, now, total + 20)
            by_seq = {int(r[0]): r for r in rows}
            plan = plan_receive(
                (Candidate(int(r[0]), int(r[8]), float(r[13]), r[10]) for r in rows),
                now,
                total,
                dead_letter.max_receive_count if dead_letter else None,
            )
            updates: list[tuple[float, float, str, int]] = []
            start = 0
            for outcome, (limit, visibility_s) in zip(outcomes, takers, strict=True):
                for seq in plan.deliver[start : start + limit]:
                    token = new_token()
                    updates.append((now + visibility_s, now, token, seq))
                    m = _message(by_seq[seq])
                    outcome.messages.append(
                        replace(
                            m,
                            receive_count=m.receive_count + 1,
                            first_received_at=m.first_received_at or now,
                            receipt=token,
                        )
                    )
                start += limit
            if updates:
                self.db.execute_many(
                    "UPDATE sqs_messages SET visible_at = ?, receive_count = receive_count + 1,"
                    " first_received_at = COALESCE(first_received_at, ?), receipt = ? WHERE seq = ?",
                    updates,
                )
            if plan.redrive and dead_letter is not None:
                self._move(plan.redrive, by_seq, dead_letter, now)
            if plan.expire:
                self.db.execute_many(
                    "DELETE FROM sqs_messages WHERE seq = ?", [(s,) for s in plan.expire]
                )
            next_visible = None
            if any(not o.messages for o in outcomes):
                nxt = self.db.execute(
                    "SELECT MIN(visible_at) FROM sqs_messages WHERE queue_id = ? AND visible_at > ?",
                    (queue_id, now),
                )
                next_visible = float(nxt[0][0]) if nxt and nxt[0][0] is not None else None
            for outcome in outcomes:
                outcome.redriven = len(plan.redrive) if dead_letter is not None else 0
                outcome.expired = len(plan.expire)
                if not outcome.messages:
                    outcome.next_visible_at = next_visible
        return outcomes

    def _move(
        self, seqs: list[int], by_seq: dict[int, Row], target: DeadLetter, now: float
    ) -> None:
        """Move messages to a dead-letter queue (same id, body and attributes)."""
        counter = self._next_sequence(target.queue_id) if target.fifo else 0
        moved: list[tuple[NewMessage, str | None]] = []
        for seq in seqs:
            m = _message(by_seq[seq])
            seqno = None
            if target.fifo:
                counter += 1
                seqno = sequence_number(counter)
            extra = {**m.extra_system, "DeadLetterQueueSourceArn": target.source_arn}
            expires = now + target.retention_s if target.fifo else m.sent_at + target.retention_s
            moved.append(
                (
                    NewMessage(
                        m.message_id,
                        m.body,
                        m.md5_body,
                        m.message_attributes,
                        extra,
                        m.sender_id,
                        m.sent_at,
                        now,
                        expires,
                        m.group_id,
                        m.dedup_id,
                    ),
                    seqno,
                )
            )
        self._insert(target.queue_id, moved)
        if target.fifo:
            self.db.execute(
                "UPDATE sqs_queues SET next_sequence = ? WHERE id = ?", (counter, target.queue_id)
            )
        self.db.execute_many("DELETE FROM sqs_messages WHERE seq = ?", [(s,) for s in seqs])

    def delete(self, queue_id: int, receipts: list[tuple[int, str]]) -> None:
        """Delete messages by (seq, receipt token); a stale receipt deletes nothing."""
        self.db.execute_many(
            "DELETE FROM sqs_messages WHERE seq = ? AND queue_id = ? AND receipt = ?",
            [(seq, queue_id, token) for seq, token in receipts],
        )

    def change_visibility(
        self, queue_id: int, seq: int, token: str, visible_at: float, now: float
    ) -> bool:
        """Move an in-flight message's visibility; False if it is not in flight under ``token``."""
        rows = self.db.execute(
            "UPDATE sqs_messages SET visible_at = ? WHERE seq = ? AND queue_id = ? AND receipt = ?"
            " AND visible_at > ? RETURNING seq",
            (visible_at, seq, queue_id, token, now),
        )
        return bool(rows)

    def purge(self, queue_id: int, now: float, interval_s: float) -> bool:
        """Delete every message; False if the previous purge was less than ``interval_s`` ago."""
        with self.db.transaction():
            rows = self.db.execute("SELECT purged_at FROM sqs_queues WHERE id = ?", (queue_id,))
            if rows and rows[0][0] is not None and now - float(rows[0][0]) < interval_s:
                return False
            self.db.execute("DELETE FROM sqs_messages WHERE queue_id = ?", (queue_id,))
            self.db.execute("UPDATE sqs_queues SET purged_at = ? WHERE id = ?", (now, queue_id))
            return True

    def sweep(self, now: float) -> int:
        """Drop messages past their retention period and expired deduplication records."""
        gone = self.db.execute(
            "DELETE FROM sqs_messages WHERE expires_at <= ? RETURNING seq", (now,)
        )
        self.db.execute("DELETE FROM sqs_dedup WHERE expires_at <= ?", (now,))
        return len(gone)
