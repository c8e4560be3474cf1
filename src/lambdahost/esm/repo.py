"""Event source mappings in the store (``esm_mappings``), over one ``Database``.

The configuration is a JSON document (``EsmConfig``); state, its reason, the
last-modified time and the last processing result are columns, so the
supervisor can settle a state or record a result without rewriting the rest.
"""

from __future__ import annotations

from lambdahost.esm.model import EsmConfig, MappingRecord
from lambdahost.esm.states import EsmState
from lambdahost.store.db import Database, Row

_COLS = (
    "uuid, function_arn, event_source_arn, config, state, state_reason, last_modified, last_result"
)


def _record(row: Row) -> MappingRecord:
    return MappingRecord(
        uuid=row[0],
        function_arn=row[1],
        event_source_arn=row[2],
        config=EsmConfig.from_json(row[3]),
        state=EsmState(row[4]),
        state_reason=row[5],
        last_modified=float(row[6]),
        last_result=row[7],
    )


class EsmRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, record: MappingRecord) -> None:
        self.db.execute(
            f"INSERT INTO esm_mappings ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.uuid,
                record.function_arn,
                record.event_source_arn,
                record.config.to_json(),
                record.state.value,
                record.state_reason,
                record.last_modified,
                record.last_result,
            ),
        )

    def get(self, uuid: str) -> MappingRecord | None:
        rows = self.db.execute(f"SELECT {_COLS} FROM esm_mappings WHERE uuid = ?", (uuid,))
        return _record(rows[0]) if rows else None

    def page(
        self, after: str, limit: int, event_source_arn: str | None = None
    ) -> list[MappingRecord]:
        if event_source_arn is None:
            rows = self.db.execute(
                f"SELECT {_COLS} FROM esm_mappings WHERE uuid > ? ORDER BY uuid LIMIT ?",
                (after, limit),
            )
        else:
            rows = self.db.execute(
                f"SELECT {_COLS} FROM esm_mappings WHERE uuid > ? AND event_source_arn = ?"
                " ORDER BY uuid LIMIT ?",
                (after, event_source_arn, limit),
            )
        return [_record(r) for r in rows]

    def all(self) -> list[MappingRecord]:
        rows = self.db.execute(f"SELECT {_COLS} FROM esm_mappings ORDER BY uuid")
        return [_record(r) for r in rows]

    def for_source(self, event_source_arn: str) -> list[MappingRecord]:
        rows = self.db.execute(
            f"SELECT {_COLS} FROM esm_mappings WHERE event_source_arn = ? ORDER BY uuid",
            (event_source_arn,),
        )
        return [_record(r) for r in rows]

    def update(self, record: MappingRecord) -> None:
        self.db.execute(
            "UPDATE esm_mappings SET function_arn = ?, config = ?, state = ?, state_reason = ?,"
            " last_modified = ? WHERE uuid = ?",
            (
                record.function_arn,
                record.config.to_json(),
                record.state.value,
                record.state_reason,
                record.last_modified,
                record.uuid,
            ),
        )

    def set_state(self, uuid: str, state: EsmState, now: float) -> bool:
        """Record a settled state, unless the mapping moved on (deleted) meanwhile."""
        rows = self.db.execute(
            "UPDATE esm_mappings SET state = ?, last_modified = ? WHERE uuid = ? AND state <> ?"
            " RETURNING uuid",
            (state.value, now, uuid, EsmState.DELETING.value),
        )
        return bool(rows)

    def set_last_result(self, uuid: str, result: str) -> None:
        self.db.execute("UPDATE esm_mappings SET last_result = ? WHERE uuid = ?", (result, uuid))

    def delete(self, uuid: str) -> bool:
        rows = self.db.execute("DELETE FROM esm_mappings WHERE uuid = ? RETURNING uuid", (uuid,))
        return bool(rows)
