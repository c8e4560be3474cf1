"""Repositories over one ``Database``, split by aggregate.

- ``FunctionRepo``: functions, their versions ($LATEST and published) and aliases,
  with compare-and-set on revision ids.
- ``CodeRepo``: content-addressed deployment packages (kept in the database so
  that every node of a cluster can fetch them).
- ``EventRepo``: the durable queue of accepted ``Event`` invocations.

Configuration documents are JSON text. Methods raise ``StoreConflict`` on
uniqueness violations and return ``False`` when a compare-and-set loses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdahost.errors import StoreConflict
from lambdahost.store.db import Database, open_database

LATEST = "$LATEST"


@dataclass(frozen=True)
class VersionRow:
    function_name: str
    version: str
    config: dict[str, Any]
    revision_id: str


@dataclass(frozen=True)
class AliasRow:
    function_name: str
    name: str
    config: dict[str, Any]
    revision_id: str


@dataclass(frozen=True)
class FunctionRow:
    name: str
    created_at: float
    tags: dict[str, str]


@dataclass(frozen=True)
class EventRow:
    seq: int
    request_id: str
    function_name: str
    qualifier: str | None
    payload: bytes
    client_context: str | None
    attempts: int
    enqueued_at: float
    function_errors: int = 0
    system_retries: int = 0
    last_response: bytes | None = None
    last_function_error: str | None = None
    last_version: str | None = None


def _version_num(version: str) -> int:
    return 0 if version == LATEST else int(version)


class FunctionRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str,
        created_at: float,
        tags: dict[str, str],
        config: dict[str, Any],
        revision_id: str,
    ) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO functions (name, created_at, next_version, tags) VALUES (?, ?, 1, ?)",
                (name, created_at, json.dumps(tags)),
            )
            self.db.execute(
                "INSERT INTO function_versions (function_name, version, version_num, config, revision_id)"
                " VALUES (?, ?, 0, ?, ?)",
                (name, LATEST, json.dumps(config), revision_id),
            )

    def get(self, name: str) -> FunctionRow | None:
        rows = self.db.execute(
            "SELECT name, created_at, tags FROM functions WHERE name = ?", (name,)
        )
        if not rows:
            return None
        return FunctionRow(rows[0][0], float(rows[0][1]), json.loads(rows[0][2]))

    def get_version(self, name: str, version: str) -> VersionRow | None:
        rows = self.db.execute(
            "SELECT config, revision_id FROM function_versions WHERE function_name = ? AND version = ?",
            (name, version),
        )
        if not rows:
            return None
        return VersionRow(name, version, json.loads(rows[0][0]), rows[0][1])

    def list_latest(self, after: str | None, limit: int) -> list[VersionRow]:
        rows = self.db.execute(
            "SELECT function_name, config, revision_id FROM function_versions"
            " WHERE version = ? AND function_name > ? ORDER BY function_name LIMIT ?",
            (LATEST, after or "", limit),
        )
        return [VersionRow(r[0], LATEST, json.loads(r[1]), r[2]) for r in rows]

    def list_all_versions(self, after: tuple[str, int] | None, limit: int) -> list[VersionRow]:
        name, num = after or ("", -1)
        rows = self.db.execute(
            "SELECT function_name, version, config, revision_id FROM function_versions"
            " WHERE function_name > ? OR (function_name = ? AND version_num > ?)"
            " ORDER BY function_name, version_num LIMIT ?",
            (name, name, num, limit),
        )
        return [VersionRow(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def list_versions(self, name: str, after_num: int, limit: int) -> list[VersionRow]:
        rows = self.db.execute(
            "SELECT version, config, revision_id FROM function_versions"
            " WHERE function_name = ? AND version_num > ? ORDER BY version_num LIMIT ?",
            (name, after_num, limit),
        )
        return [VersionRow(name, r[0], json.loads(r[1]), r[2]) for r in rows]

    def latest_published(self, name: str) -> VersionRow | None:
        rows = self.db.execute(
            "SELECT version, config, revision_id FROM function_versions"
            " WHERE function_name = ? AND version_num > 0 ORDER BY version_num DESC LIMIT 1",
            (name,),
        )
        return VersionRow(name, rows[0][0], json.loads(rows[0][1]), rows[0][2]) if rows else None

    def update_latest(
        self, name: str, config: dict[str, Any], revision_id: str, expected_revision: str
    ) -> bool:
        """Compare-and-set $LATEST; False if its revision moved meanwhile."""
        with self.db.transaction():
            current = self.db.execute(
                "SELECT revision_id FROM function_versions WHERE function_name = ? AND version = ?",
                (name, LATEST),
            )
            if not current or current[0][0] != expected_revision:
                return False
            self.db.execute(
                "UPDATE function_versions SET config = ?, revision_id = ?"
                " WHERE function_name = ? AND version = ?",
                (json.dumps(config), revision_id, name, LATEST),
            )
            return True

    def publish(
        self,
        name: str,
        config: dict[str, Any],
        revision_id: str,
        expected_latest_revision: str,
    ) -> str | None:
        """Snapshot $LATEST as the next version number; None if $LATEST moved."""
        with self.db.transaction():
            latest = self.db.execute(
                "SELECT revision_id FROM function_versions WHERE function_name = ? AND version = ?",
                (name, LATEST),
            )
            if not latest or latest[0][0] != expected_latest_revision:
                return None
            number = int(
                self.db.execute("SELECT next_version FROM functions WHERE name = ?", (name,))[0][0]
            )
            self.db.execute(
                "UPDATE functions SET next_version = ? WHERE name = ?", (number + 1, name)
            )
            version = str(number)
            self.db.execute(
                "INSERT INTO function_versions (function_name, version, version_num, config, revision_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, version, number, json.dumps(config), revision_id),
            )
            return version

    def set_version_state(self, name: str, version: str, fields: dict[str, Any]) -> bool:
        """Merge ``fields`` (State and its reason) into a version's document, keeping its
        revision (a SnapStart snapshot is made for that revision); False if it is gone."""
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT config FROM function_versions WHERE function_name = ? AND version = ?",
                (name, version),
            )
            if not rows:
                return False
            config = json.loads(rows[0][0])
            for key in ("StateReason", "StateReasonCode"):
                config.pop(key, None)
            config.update(fields)
            self.db.execute(
                "UPDATE function_versions SET config = ? WHERE function_name = ? AND version = ?",
                (json.dumps(config), name, version),
            )
            return True

    def delete(self, name: str) -> bool:
        with self.db.transaction():
            found = self.db.execute("SELECT 1 FROM functions WHERE name = ?", (name,))
            if not found:
                return False
            self.db.execute("DELETE FROM aliases WHERE function_name = ?", (name,))
            self.db.execute("DELETE FROM function_versions WHERE function_name = ?", (name,))
            self.db.execute("DELETE FROM functions WHERE name = ?", (name,))
            return True

    def delete_version(self, name: str, version: str) -> bool:
        with self.db.transaction():
            found = self.db.execute(
                "SELECT 1 FROM function_versions WHERE function_name = ? AND version = ?",
                (name, version),
            )
            if not found:
                return False
            self.db.execute(
                "DELETE FROM function_versions WHERE function_name = ? AND version = ?",
                (name, version),
            )
            return True

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        self.db.execute("UPDATE functions SET tags = ? WHERE name = ?", (json.dumps(tags), name))

    def set_reserved_concurrency(self, name: str, value: int | None) -> bool:
        rows = self.db.execute(
            "UPDATE functions SET reserved_concurrency = ? WHERE name = ? RETURNING name",
            (value, name),
        )
        return bool(rows)

    def reserved_concurrency(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT name, reserved_concurrency FROM functions WHERE reserved_concurrency IS NOT NULL"
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def code_hashes_in_use(self) -> set[str]:
        rows = self.db.execute("SELECT config FROM function_versions")
        return {json.loads(r[0]).get("CodeSha256", "") for r in rows}

    # -- aliases -----------------------------------------------------------

    def create_alias(self, name: str, alias: str, config: dict[str, Any], revision_id: str) -> None:
        self.db.execute(
            "INSERT INTO aliases (function_name, name, config, revision_id) VALUES (?, ?, ?, ?)",
            (name, alias, json.dumps(config), revision_id),
        )

    def get_alias(self, name: str, alias: str) -> AliasRow | None:
        rows = self.db.execute(
            "SELECT config, revision_id FROM aliases WHERE function_name = ? AND name = ?",
            (name, alias),
        )
        return AliasRow(name, alias, json.loads(rows[0][0]), rows[0][1]) if rows else None

    def list_aliases(self, name: str, after: str | None, limit: int) -> list[AliasRow]:
        rows = self.db.execute(
            "SELECT name, config, revision_id FROM aliases WHERE function_name = ? AND name > ?"
            " ORDER BY name LIMIT ?",
            (name, after or "", limit),
        )
        return [AliasRow(name, r[0], json.loads(r[1]), r[2]) for r in rows]

    def update_alias(
        self, name: str, alias: str, config: dict[str, Any], revision_id: str, expected: str
    ) -> bool:
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT revision_id FROM aliases WHERE function_name = ? AND name = ?",
                (name, alias),
            )
            if not rows or rows[0][0] != expected:
                return False
            self.db.execute(
                "UPDATE aliases SET config = ?, revision_id = ? WHERE function_name = ? AND name = ?",
                (json.dumps(config), revision_id, name, alias),
            )
            return True

    def delete_alias(self, name: str, alias: str) -> bool:
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT 1 FROM aliases WHERE function_name = ? AND name = ?", (name, alias)
            )
            if not rows:
                return False
            self.db.execute(
                "DELETE FROM aliases WHERE function_name = ? AND name = ?", (name, alias)
            )
            return True

    def aliases_pointing_at(self, name: str, version: str) -> list[str]:
        rows = self.db.execute("SELECT name, config FROM aliases WHERE function_name = ?", (name,))
        found = []
        for alias, config_text in rows:
            config = json.loads(config_text)
            weights = (config.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            if config.get("FunctionVersion") == version or version in weights:
                found.append(alias)
        return found


class CodeRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, sha256: str, data: bytes) -> None:
        self.db.execute(
            "INSERT INTO code_blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            (sha256, len(data), data),
        )

    def get(self, sha256: str) -> bytes | None:
        rows = self.db.execute("SELECT data FROM code_blobs WHERE sha256 = ?", (sha256,))
        return bytes(rows[0][0]) if rows else None

    def delete_unreferenced(self, in_use: set[str]) -> int:
        rows = self.db.execute("SELECT sha256 FROM code_blobs")
        stale = [r[0] for r in rows if r[0] not in in_use]
        for sha in stale:
            self.db.execute("DELETE FROM code_blobs WHERE sha256 = ?", (sha,))
        return len(stale)

    def total_size(self) -> int:
        rows = self.db.execute("SELECT COALESCE(SUM(size), 0) FROM code_blobs")
        return int(rows[0][0])


class EventRepo:
    """The durable Event queue. States: 0 pending, 1 leased."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue_many(
        self, events: list[tuple[str, str, str | None, bytes, str | None, float]]
    ) -> None:
        """Insert (request_id, function, qualifier, payload, client_context, now) rows in one txn."""
        with self.db.transaction():
            self.db.execute_many(
                "INSERT INTO event_invocations (request_id, function_name, qualifier, payload,"
                " client_context, state, attempts, enqueued_at, available_at)"
                " VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)",
                [(r, f, q, p, c, now, now) for (r, f, q, p, c, now) in events],
            )

    def claim(self, now: float, lease_s: float, limit: int) -> list[EventRow]:
        with self.db.transaction():
            lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgres" else ""
            rows = self.db.execute(
                "SELECT seq, request_id, function_name, qualifier, payload, client_context, attempts,"
                " enqueued_at, function_errors, system_retries, last_response,"
                " last_function_error, last_version"
                " FROM event_invocations WHERE state = 0 AND available_at <= ?"
                " ORDER BY available_at, seq LIMIT ?" + lock,
                (now, limit),
            )
            if not rows:
                return []
            self.db.execute_many(
                "UPDATE event_invocations SET state = 1, attempts = attempts + 1, lease_until = ?"
                " WHERE seq = ?",
                [(now + lease_s, r[0]) for r in rows],
            )
        return [
            EventRow(
                int(r[0]),
                r[1],
                r[2],
                r[3],
                bytes(r[4]),
                r[5],
                int(r[6]) + 1,
                float(r[7]),
                int(r[8]),
                int(r[9]),
                bytes(r[10]) if r[10] is not None else None,
                r[11],
                r[12],
            )
            for r in rows
        ]

    def record_attempt(
        self,
        seq: int,
        *,
        available_at: float,
        function_errors: int,
        system_retries: int,
        last_response: bytes | None,
        last_function_error: str | None,
        last_version: str | None,
    ) -> None:
        """Put a leased event back on the queue for another attempt at ``available_at``."""
        self.db.execute(
            "UPDATE event_invocations SET state = 0, lease_until = NULL, available_at = ?,"
            " function_errors = ?, system_retries = ?, last_response = ?,"
            " last_function_error = ?, last_version = ? WHERE seq = ?",
            (
                available_at,
                function_errors,
                system_retries,
                last_response,
                last_function_error,
                last_version,
                seq,
            ),
        )

    def complete(self, seqs: list[int]) -> None:
        with self.db.transaction():
            self.db.execute_many(
                "DELETE FROM event_invocations WHERE seq = ?", [(s,) for s in seqs]
            )

    def retry_later(self, seq: int, available_at: float) -> None:
        self.db.execute(
            "UPDATE event_invocations SET state = 0, available_at = ?, lease_until = NULL WHERE seq = ?",
            (available_at, seq),
        )

    def release_expired_leases(self, now: float) -> int:
        """Leases whose holder died (or a restart) go back to pending: at-least-once."""
        rows = self.db.execute(
            "UPDATE event_invocations SET state = 0, lease_until = NULL"
            " WHERE state = 1 AND lease_until <= ? RETURNING seq",
            (now,),
        )
        return len(rows)

    def release_all_leases(self) -> int:
        rows = self.db.execute(
            "UPDATE event_invocations SET state = 0, lease_until = NULL WHERE state = 1 RETURNING seq"
        )
        return len(rows)

    def depth(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM event_invocations")[0][0])

    def oldest_enqueued_at(self) -> float | None:
        rows = self.db.execute("SELECT MIN(enqueued_at) FROM event_invocations")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None


class Store:
    """All repositories over one database connection."""

    def __init__(self, db: Database) -> None:
        from lambdahost.store.capacity import CapacityRepo
        from lambdahost.store.invoke_configs import InvokeConfigRepo
        from lambdahost.store.provisioned import ProvisionedRepo
        from lambdahost.store.scaling import ScalingRepo

        self.db = db
        self.functions = FunctionRepo(db)
        self.code = CodeRepo(db)
        self.events = EventRepo(db)
        self.invoke_configs = InvokeConfigRepo(db)
        self.provisioned = ProvisionedRepo(db)
        self.capacity = CapacityRepo(db)
        self.scaling = ScalingRepo(db)

    def close(self) -> None:
        self.db.close()


def open_store(url: str, *, migrate: bool = True) -> Store:
    db = open_database(url)
    if migrate:
        db.migrate()
    return Store(db)


__all__ = [
    "AliasRow",
    "CodeRepo",
    "EventRepo",
    "EventRow",
    "FunctionRepo",
    "FunctionRow",
    "Store",
    "StoreConflict",
    "VersionRow",
    "open_store",
]
