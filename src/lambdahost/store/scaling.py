"""Repository of function scaling configurations (Lambda Managed Instances).

One row per published function version that was given a PutFunctionScalingConfig;
the rows go with their version through a foreign key.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdahost.store.db import Database


@dataclass(frozen=True)
class ScalingRow:
    function_name: str
    version: str
    min_envs: int | None
    max_envs: int | None


class ScalingRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, row: ScalingRow) -> bool:
        """Store ``row``; False if its function version does not exist."""
        with self.db.transaction():
            found = self.db.execute(
                "SELECT 1 FROM function_versions WHERE function_name = ? AND version = ?",
                (row.function_name, row.version),
            )
            if not found:
                return False
            self.db.execute(
                "DELETE FROM function_scaling_configs WHERE function_name = ? AND version = ?",
                (row.function_name, row.version),
            )
            self.db.execute(
                "INSERT INTO function_scaling_configs (function_name, version, min_envs, max_envs)"
                " VALUES (?, ?, ?, ?)",
                (row.function_name, row.version, row.min_envs, row.max_envs),
            )
            return True

    def get(self, name: str, version: str) -> ScalingRow | None:
        rows = self.db.execute(
            "SELECT min_envs, max_envs FROM function_scaling_configs"
            " WHERE function_name = ? AND version = ?",
            (name, version),
        )
        return ScalingRow(name, version, _int(rows[0][0]), _int(rows[0][1])) if rows else None

    def list(self) -> list[ScalingRow]:
        rows = self.db.execute(
            "SELECT function_name, version, min_envs, max_envs FROM function_scaling_configs"
            " ORDER BY function_name, version"
        )
        return [ScalingRow(r[0], r[1], _int(r[2]), _int(r[3])) for r in rows]


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))
