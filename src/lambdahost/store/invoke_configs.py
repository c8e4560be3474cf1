"""Repository of per-qualifier asynchronous invocation settings (EventInvokeConfig)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdahost.store.db import Database


@dataclass(frozen=True)
class InvokeConfigRow:
    function_name: str
    qualifier: str
    config: dict[str, Any]
    last_modified: float


class InvokeConfigRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, name: str, qualifier: str, config: dict[str, Any], now: float) -> None:
        with self.db.transaction():
            self.db.execute(
                "DELETE FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?",
                (name, qualifier),
            )
            self.db.execute(
                "INSERT INTO event_invoke_configs (function_name, qualifier, config, last_modified)"
                " VALUES (?, ?, ?, ?)",
                (name, qualifier, json.dumps(config), now),
            )

    def get(self, name: str, qualifier: str) -> InvokeConfigRow | None:
        rows = self.db.execute(
            "SELECT config, last_modified FROM event_invoke_configs"
            " WHERE function_name = ? AND qualifier = ?",
            (name, qualifier),
        )
        if not rows:
            return None
        return InvokeConfigRow(name, qualifier, json.loads(rows[0][0]), float(rows[0][1]))

    def list(self, name: str) -> list[InvokeConfigRow]:
        rows = self.db.execute(
            "SELECT qualifier, config, last_modified FROM event_invoke_configs"
            " WHERE function_name = ? ORDER BY qualifier",
            (name,),
        )
        return [InvokeConfigRow(name, r[0], json.loads(r[1]), float(r[2])) for r in rows]

    def delete(self, name: str, qualifier: str) -> bool:
        with self.db.transaction():
            found = self.db.execute(
                "SELECT 1 FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?",
                (name, qualifier),
            )
            if not found:
                return False
            self.db.execute(
                "DELETE FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?",
                (name, qualifier),
            )
            return True
