"""Durable-execution persistence on the shared ``Database`` (SQLite and PostgreSQL).

Synchronous; runs on the store thread. ``apply`` writes any number of
``Changes`` in one transaction (the engine's group commit hands it a batch),
so a checkpoint is on disk (fsync'd by the dialect's commit) before its answer
is sent. ``load`` rebuilds an execution, its operation log and its timers; the
EXECUTION operation is derived from the execution row, not stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lambdahost.durable.changes import Changes
from lambdahost.durable.model import Execution, ExecutionStatus, Operation, OpStatus, OpType
from lambdahost.store.db import Database

_EXEC_COLUMNS = (
    "arn, function_name, version, name, exec_id, status, start_ts, end_ts, expire_at,"
    " invoke_wanted, input_payload, doc"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class TimerRow:
    arn: str
    op_id: str
    kind: str
    due: float


class DurableRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writes ---------------------------------------------------------------

    def apply(self, batch: Sequence[Changes]) -> None:
        with self.db.transaction():
            for changes in batch:
                for ch in changes.flatten():
                    self._apply_one(ch)

    def _apply_one(self, ch: Changes) -> None:
        ex = ch.execution
        db = self.db
        if ch.insert:
            db.execute(
                f"INSERT INTO durable_executions ({_EXEC_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ex.arn,
                    ex.function_name,
                    ex.version,
                    ex.name,
                    ex.exec_id,
                    ex.status.value,
                    ex.start,
                    ex.end,
                    ex.expire_at,
                    int(ex.invoke_wanted),
                    ex.input_payload,
                    _dumps(ex.doc()),
                ),
            )
        elif ch.row:
            db.execute(
                "UPDATE durable_executions SET status = ?, end_ts = ?, expire_at = ?,"
                " invoke_wanted = ?, doc = ? WHERE arn = ?",
                (
                    ex.status.value,
                    ex.end,
                    ex.expire_at,
                    int(ex.invoke_wanted),
                    _dumps(ex.doc()),
                    ex.arn,
                ),
            )
        ops = [op for op in ch.ops.values() if op.type is not OpType.EXECUTION]
        if ops:
            db.execute_many(
                "INSERT INTO durable_operations (arn, op_id, seq, doc) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (arn, op_id) DO UPDATE SET doc = excluded.doc",
                [(ex.arn, op.id, op.seq, _dumps(op.to_doc())) for op in ops],
            )
        if ch.events:
            db.execute_many(
                "INSERT INTO durable_events (arn, event_id, doc) VALUES (?, ?, ?)",
                [(ex.arn, e["EventId"], _dumps(e)) for e in ch.events],
            )
        if ch.timers_del:
            db.execute_many(
                "DELETE FROM durable_timers WHERE arn = ? AND op_id = ? AND kind = ?",
                [(ex.arn, op_id, kind) for op_id, kind in ch.timers_del],
            )
        if ch.timers_set:
            db.execute_many(
                "INSERT INTO durable_timers (arn, op_id, kind, due_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (arn, op_id, kind) DO UPDATE SET due_at = excluded.due_at",
                [(ex.arn, op_id, kind, due) for (op_id, kind), due in ch.timers_set.items()],
            )
        if ch.callbacks:
            db.execute_many(
                "INSERT INTO durable_callbacks (callback_id, arn, op_id) VALUES (?, ?, ?)",
                [(cid, ex.arn, op_id) for cid, op_id in ch.callbacks],
            )

    def delete(self, arns: Iterable[str]) -> int:
        arns = list(arns)
        if not arns:
            return 0
        with self.db.transaction():
            for table in (
                "durable_callbacks",
                "durable_timers",
                "durable_events",
                "durable_operations",
            ):
                self.db.execute_many(f"DELETE FROM {table} WHERE arn = ?", [(a,) for a in arns])
            self.db.execute_many(
                "DELETE FROM durable_executions WHERE arn = ?", [(a,) for a in arns]
            )
        return len(arns)

    # -- reads ----------------------------------------------------------------

    def load(self, arn: str) -> Execution | None:
        rows = self.db.execute(
            f"SELECT {_EXEC_COLUMNS} FROM durable_executions WHERE arn = ?", (arn,)
        )
        if not rows:
            return None
        ex = _execution(rows[0])
        op_rows = self.db.execute(
            "SELECT doc FROM durable_operations WHERE arn = ? ORDER BY seq", (arn,)
        )
        for (doc,) in op_rows:
            op = Operation.from_doc(json.loads(doc))
            ex.ops[op.id] = op
        for op in ex.ops.values():
            ex.touch(op)
            ex.op_seq = max(ex.op_seq, op.seq)
        for op_id, kind, due in self.db.execute(
            "SELECT op_id, kind, due_at FROM durable_timers WHERE arn = ?", (arn,)
        ):
            ex.timers[(op_id, kind)] = float(due)
        last = self.db.execute("SELECT MAX(event_id) FROM durable_events WHERE arn = ?", (arn,))
        ex.event_seq = int(last[0][0] or 0)
        return ex

    def summary(self, arn: str) -> Execution | None:
        """The execution row without its operation log (cheap reads)."""
        rows = self.db.execute(
            f"SELECT {_EXEC_COLUMNS} FROM durable_executions WHERE arn = ?", (arn,)
        )
        return _execution(rows[0]) if rows else None

    def find_by_name(self, function_name: str, name: str) -> Execution | None:
        rows = self.db.execute(
            f"SELECT {_EXEC_COLUMNS} FROM durable_executions WHERE function_name = ? AND name = ?",
            (function_name, name),
        )
        return _execution(rows[0]) if rows else None

    def callback(self, callback_id: str) -> tuple[str, str] | None:
        rows = self.db.execute(
            "SELECT arn, op_id FROM durable_callbacks WHERE callback_id = ?", (callback_id,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def timers(self) -> list[TimerRow]:
        rows = self.db.execute("SELECT arn, op_id, kind, due_at FROM durable_timers")
        return [TimerRow(r[0], r[1], r[2], float(r[3])) for r in rows]

    def wanted(self) -> list[str]:
        rows = self.db.execute(
            "SELECT arn FROM durable_executions WHERE invoke_wanted = 1 AND status IN (?, ?)",
            (ExecutionStatus.RUNNING.value, ExecutionStatus.PAUSING.value),
        )
        return [r[0] for r in rows]

    def expired(self, now: float, limit: int) -> list[str]:
        rows = self.db.execute(
            "SELECT arn FROM durable_executions WHERE expire_at IS NOT NULL AND expire_at <= ?"
            " ORDER BY expire_at LIMIT ?",
            (now, limit),
        )
        return [r[0] for r in rows]

    def list_executions(
        self,
        function_name: str,
        *,
        version: str | None,
        name: str | None,
        statuses: Sequence[str],
        started_after: float | None,
        started_before: float | None,
        oldest_first: bool,
        offset: int,
        limit: int,
    ) -> list[Execution]:
        where = ["function_name = ?"]
        params: list[Any] = [function_name]
        if version is not None:
            where.append("version = ?")
            params.append(version)
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        if started_after is not None:
            where.append("start_ts > ?")
            params.append(started_after)
        if started_before is not None:
            where.append("start_ts < ?")
            params.append(started_before)
        order = "ASC" if oldest_first else "DESC"
        rows = self.db.execute(
            f"SELECT {_EXEC_COLUMNS} FROM durable_executions WHERE {' AND '.join(where)}"
            f" ORDER BY start_ts {order}, arn {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_execution(r) for r in rows]

    def events(
        self, arn: str, *, after: int, limit: int, newest_first: bool
    ) -> list[dict[str, Any]]:
        if newest_first:
            rows = self.db.execute(
                "SELECT doc FROM durable_events WHERE arn = ? AND event_id < ?"
                " ORDER BY event_id DESC LIMIT ?",
                (arn, after or 2**62, limit),
            )
        else:
            rows = self.db.execute(
                "SELECT doc FROM durable_events WHERE arn = ? AND event_id > ?"
                " ORDER BY event_id LIMIT ?",
                (arn, after, limit),
            )
        return [json.loads(r[0]) for r in rows]

    def count_running(self) -> int:
        rows = self.db.execute(
            "SELECT COUNT(*) FROM durable_executions WHERE status = ?",
            (ExecutionStatus.RUNNING.value,),
        )
        return int(rows[0][0])


def _execution(row: Sequence[Any]) -> Execution:
    (
        arn,
        function_name,
        version,
        name,
        exec_id,
        status,
        start,
        end,
        expire,
        wanted,
        input_payload,
        doc_text,
    ) = row
    doc = json.loads(doc_text)
    ex = Execution(
        arn=arn,
        function_name=function_name,
        version=version,
        name=name,
        exec_id=exec_id,
        status=ExecutionStatus(status),
        input_payload=input_payload,
        start=float(start),
        config=doc.get("config") or {},
        timeout_at=doc.get("timeout_at"),
        end=float(end) if end is not None else None,
        expire_at=float(expire) if expire is not None else None,
        result=doc.get("result"),
        error=doc.get("error"),
        parent=(doc["parent"][0], doc["parent"][1]) if doc.get("parent") else None,
        invoke_wanted=bool(wanted),
        pause=doc.get("pause"),
        trace_id=doc.get("trace_id"),
        op_seq=int(doc.get("op_seq") or 0),
    )
    ex.ops[exec_id] = Operation(
        exec_id,
        OpType.EXECUTION,
        OpStatus.STARTED,
        ex.start,
        0,
        name=name,
        input_payload=input_payload,
    )
    return ex
