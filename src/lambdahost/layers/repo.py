"""Repository of layers and layer versions (both dialects, SQL written once).

A layer row holds the next version number, so numbers are never reused; version rows
hold the stored document (``model.publish_document``), the code hash (the zip is a
code blob, ``CodeRepo``) and the optional permission policy with its revision id.
Deleting a version only hides it: functions that use it keep their ``/opt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdahost.store.db import Database


@dataclass(frozen=True)
class LayerVersionRow:
    name: str
    version: int
    doc: dict[str, Any]
    code_sha256: str
    policy: dict[str, Any] | None
    policy_revision: str | None


_COLUMNS = "layer_name, version, config, code_sha256, policy, policy_revision"


def _row(r: tuple[Any, ...]) -> LayerVersionRow:
    return LayerVersionRow(
        str(r[0]), int(r[1]), json.loads(r[2]), str(r[3]), json.loads(r[4]) if r[4] else None, r[5]
    )


class LayerRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def publish(
        self, name: str, doc: dict[str, Any], sha256: str, size: int, created_at: float
    ) -> int:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO layers (name, next_version) VALUES (?, 1) ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            version = int(
                self.db.execute("SELECT next_version FROM layers WHERE name = ?", (name,))[0][0]
            )
            self.db.execute(
                "UPDATE layers SET next_version = ? WHERE name = ?", (version + 1, name)
            )
            self.db.execute(
                "INSERT INTO layer_versions (layer_name, version, config, code_sha256, code_size,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, version, json.dumps(doc), sha256, size, created_at),
            )
        return version

    def get(self, name: str, version: int, *, deleted: bool = False) -> LayerVersionRow | None:
        """A version; ``deleted=True`` also finds deleted ones (functions still use them)."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM layer_versions WHERE layer_name = ? AND version = ?"
            + ("" if deleted else " AND deleted = 0"),
            (name, version),
        )
        return _row(rows[0]) if rows else None

    def versions(self, name: str) -> list[LayerVersionRow]:
        """All versions of a layer, newest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM layer_versions WHERE layer_name = ? AND deleted = 0"
            " ORDER BY version DESC",
            (name,),
        )
        return [_row(r) for r in rows]

    def all_versions(self) -> list[LayerVersionRow]:
        """Every version of every layer, by name then newest first (for ListLayers)."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM layer_versions WHERE deleted = 0"
            " ORDER BY layer_name, version DESC"
        )
        return [_row(r) for r in rows]

    def delete(self, name: str, version: int) -> bool:
        rows = self.db.execute(
            "UPDATE layer_versions SET deleted = 1, policy = NULL, policy_revision = NULL"
            " WHERE layer_name = ? AND version = ? AND deleted = 0 RETURNING version",
            (name, version),
        )
        return bool(rows)

    def set_policy(
        self,
        name: str,
        version: int,
        policy: dict[str, Any] | None,
        revision: str | None,
        expected: str | None,
    ) -> bool:
        """Compare-and-set the policy on its revision id (``expected`` None: no check)."""
        with self.db.transaction():
            row = self.get(name, version)
            if row is None:
                return False
            if expected is not None and expected != row.policy_revision:
                return False
            self.db.execute(
                "UPDATE layer_versions SET policy = ?, policy_revision = ?"
                " WHERE layer_name = ? AND version = ?",
                (json.dumps(policy) if policy is not None else None, revision, name, version),
            )
        return True

    def code_hashes_in_use(self) -> set[str]:
        """Code blobs that layer versions still need (for any code-blob clean-up)."""
        return {str(r[0]) for r in self.db.execute("SELECT code_sha256 FROM layer_versions")}
