"""Repository of capacity providers."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from typing import Any

from lambdahost.store.db import Database


@dataclass(frozen=True)
class CapacityProviderRow:
    name: str
    config: dict[str, Any]
    tags: dict[str, str]
    last_modified: str


class CapacityRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, row: CapacityProviderRow) -> None:
        self.db.execute(
            "INSERT INTO capacity_providers (name, config, tags, last_modified) VALUES (?, ?, ?, ?)",
            (row.name, json.dumps(row.config), json.dumps(row.tags), row.last_modified),
        )

    def get(self, name: str) -> CapacityProviderRow | None:
        rows = self.db.execute(
            "SELECT name, config, tags, last_modified FROM capacity_providers WHERE name = ?",
            (name,),
        )
        return self._row(rows[0]) if rows else None

    def list(self, after: str | None, limit: int) -> list[CapacityProviderRow]:
        rows = self.db.execute(
            "SELECT name, config, tags, last_modified FROM capacity_providers WHERE name > ?"
            " ORDER BY name LIMIT ?",
            (after or "", limit),
        )
        return [self._row(r) for r in rows]

    def update(self, name: str, config: dict[str, Any], last_modified: str) -> None:
        self.db.execute(
            "UPDATE capacity_providers SET config = ?, last_modified = ? WHERE name = ?",
            (json.dumps(config), last_modified, name),
        )

    def delete(self, name: str) -> bool:
        rows = self.db.execute(
            "DELETE FROM capacity_providers WHERE name = ? RETURNING name", (name,)
        )
        return bool(rows)

    def function_versions(self, arn: str) -> builtins.list[tuple[str, str, str]]:
        """(function name, version, State) of every version configured with provider ``arn``."""
        name = arn.rsplit(":", 1)[1]
        rows = self.db.execute(
            "SELECT function_name, version, config FROM function_versions WHERE config LIKE ?"
            " ORDER BY function_name, version_num",
            (f'%capacity-provider:{name}"%',),  # a coarse filter; the exact test follows
        )
        found = []
        for function_name, version, text in rows:
            config = json.loads(text)
            lmi = (config.get("CapacityProviderConfig") or {}).get(
                "LambdaManagedInstancesCapacityProviderConfig"
            ) or {}
            if lmi.get("CapacityProviderArn") == arn:
                found.append((function_name, version, str(config.get("State", "Active"))))
        return found

    @staticmethod
    def _row(r: tuple[Any, ...]) -> CapacityProviderRow:
        return CapacityProviderRow(r[0], json.loads(r[1]), json.loads(r[2]), r[3])
