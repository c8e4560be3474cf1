"""Connections, transactions, placeholders and migrations for both dialects.

SQL is written once with ``?`` placeholders; the PostgreSQL dialect rewrites
them to ``%s``. Only engine setup, migrations and error classification differ
per dialect.

SQLite settings (each has a reason):
- ``journal_mode=WAL``: readers never block the single writer.
- ``synchronous=FULL``: a commit is on disk before we acknowledge it; accepted
  events must survive power loss, and group commit keeps this affordable.
- ``foreign_keys=ON``: versions and aliases go with their function.
- ``busy_timeout=10000``: a second process (the CLI, a test) waits instead of failing.
- ``BEGIN IMMEDIATE``: take the write lock up front so a read-then-write
  transaction cannot fail half-way with SQLITE_BUSY.

PostgreSQL: autocommit outside explicit transactions; migrations hold an
advisory lock so that several nodes starting together migrate once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from lambdahost.errors import StoreConflict

Row = tuple[Any, ...]
MIGRATION_LOCK_KEY = 727_274_001


class Database:
    """A single connection with dialect-aware execution."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        raise NotImplementedError

    def is_unique_violation(self, exc: BaseException) -> bool:
        raise NotImplementedError

    # -- migrations ---------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply pending numbered migrations; return the versions applied."""
        applied: list[int] = []
        with self.transaction():
            self._lock_for_migration()
            self.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
            )
            done = {int(r[0]) for r in self.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in migration_files(self.dialect):
                if version in done:
                    continue
                for statement in split_statements(sql):
                    self.execute(statement)
                self.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )
                applied.append(version)
        return applied

    def _lock_for_migration(self) -> None:
        """Dialects that can run several nodes serialise migrations here."""


def migration_files(dialect: str) -> list[tuple[int, str, str]]:
    folder = resources.files("lambdahost.store").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text()))
    return sorted(found)


def split_statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._depth = 0
        self._lock = threading.RLock()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=10000",
        ):
            self._conn.execute(pragma)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.IntegrityError as exc:
            if self.is_unique_violation(exc):
                raise StoreConflict(str(exc)) from exc
            raise

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, [tuple(r) for r in rows])
        except sqlite3.IntegrityError as exc:
            if self.is_unique_violation(exc):
                raise StoreConflict(str(exc)) from exc
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and (
            "UNIQUE constraint failed" in str(exc) or "PRIMARY KEY" in str(exc)
        )


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, url: str) -> None:
        import psycopg

        conninfo, schema = _split_schema(url)
        self._psycopg = psycopg
        self._conn = psycopg.connect(conninfo, autocommit=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._sql_cache: dict[str, str] = {}
        if schema:
            self._conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self._conn.execute(f'SET search_path TO "{schema}"')

    def _sql(self, sql: str) -> str:
        cached = self._sql_cache.get(sql)
        if cached is None:
            cached = sql.replace("%", "%%").replace("?", "%s")
            self._sql_cache[sql] = cached
        return cached

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            cur = self._conn.execute(self._sql(sql), tuple(params))
        except self._psycopg.errors.UniqueViolation as exc:
            raise StoreConflict(str(exc)) from exc
        if cur.description is None:
            return []
        return [tuple(r) for r in cur.fetchall()]

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.executemany(self._sql(sql), [tuple(r) for r in rows])
        except self._psycopg.errors.UniqueViolation as exc:
            raise StoreConflict(str(exc)) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock, self._conn.transaction():
            yield

    def _lock_for_migration(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))

    def close(self) -> None:
        self._conn.close()

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.errors.UniqueViolation)


def _split_schema(url: str) -> tuple[str, str | None]:
    """Take lambdahost's own ``schema=`` parameter out of a PostgreSQL URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    schema = query.pop("schema", [None])[0]
    rest = urlencode({k: v[0] for k, v in query.items()})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), schema


def open_database(url: str) -> Database:
    """``sqlite:///path``, ``sqlite://:memory:`` or ``postgresql://...``."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
        if path.startswith("/"):
            path = path[1:]  # sqlite:///relative and sqlite:////absolute
        return SqliteDatabase(path or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    raise ValueError(f"unsupported store URL: {url!r} (use sqlite:///PATH or postgresql://...)")
