"""Repository of provisioned-concurrency configurations."""

from __future__ import annotations

from dataclasses import dataclass

from lambdahost.store.db import Database


@dataclass(frozen=True)
class ProvisionedRow:
    function_name: str
    qualifier: str
    requested: int
    last_modified: str


class ProvisionedRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, name: str, qualifier: str, requested: int, last_modified: str) -> None:
        with self.db.transaction():
            self.db.execute(
                "DELETE FROM provisioned_configs WHERE function_name = ? AND qualifier = ?",
                (name, qualifier),
            )
            self.db.execute(
                "INSERT INTO provisioned_configs (function_name, qualifier, requested, last_modified)"
                " VALUES (?, ?, ?, ?)",
                (name, qualifier, requested, last_modified),
            )

    def list(self, name: str | None = None) -> list[ProvisionedRow]:
        if name is None:
            rows = self.db.execute(
                "SELECT function_name, qualifier, requested, last_modified FROM provisioned_configs"
                " ORDER BY function_name, qualifier"
            )
        else:
            rows = self.db.execute(
                "SELECT function_name, qualifier, requested, last_modified FROM provisioned_configs"
                " WHERE function_name = ? ORDER BY qualifier",
                (name,),
            )
        return [ProvisionedRow(r[0], r[1], int(r[2]), r[3]) for r in rows]

    def delete(self, name: str, qualifier: str) -> bool:
        rows = self.db.execute(
            "DELETE FROM provisioned_configs WHERE function_name = ? AND qualifier = ? RETURNING qualifier",
            (name, qualifier),
        )
        return bool(rows)
