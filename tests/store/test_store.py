"""The store layer on both SQLite and PostgreSQL: migrations, CAS, publish, the event queue."""

from __future__ import annotations

import pytest

from lambdahost.errors import StoreConflict
from lambdahost.store import open_store
from lambdahost.store.db import migration_files


def test_migrations_apply_once(store_url: str) -> None:
    store = open_store(store_url)
    assert store.db.migrate() == []
    versions = [int(r[0]) for r in store.db.execute("SELECT version FROM schema_migrations")]
    assert versions == [v for v, _, _ in migration_files(store.db.dialect)]
    store.close()


def test_version_state_changes_keep_the_revision(store_url: str) -> None:
    store = open_store(store_url)
    repo = store.functions
    repo.create("s", 1.0, {}, {"Timeout": 3}, "r1")
    pending = {"Timeout": 3, "State": "Pending", "StateReasonCode": "Creating"}
    assert repo.publish("s", pending, "p1", "r1") == "1"
    assert repo.set_version_state("s", "1", {"State": "Active"}) is True
    row = repo.get_version("s", "1")
    assert row is not None and row.revision_id == "p1"  # the snapshot's key stays valid
    assert row.config == {"Timeout": 3, "State": "Active"}  # the reason went with Pending
    assert repo.set_version_state("s", "9", {"State": "Active"}) is False
    repo.delete("s")
    store.close()


def test_function_lifecycle(store_url: str) -> None:
    store = open_store(store_url)
    repo = store.functions
    repo.create("f", 1.0, {"a": "1"}, {"Timeout": 3}, "r1")
    with pytest.raises(StoreConflict):
        repo.create("f", 1.0, {}, {}, "rX")
    assert repo.update_latest("f", {"Timeout": 4}, "r2", "stale") is False
    assert repo.get_version("f", "$LATEST").config == {"Timeout": 3}  # type: ignore[union-attr]
    assert repo.update_latest("f", {"Timeout": 4}, "r2", "r1") is True
    assert repo.publish("f", {"Timeout": 4}, "p1", "r1") is None
    assert repo.publish("f", {"Timeout": 4}, "p1", "r2") == "1"
    assert repo.publish("f", {"Timeout": 4}, "p2", "r2") == "2"
    assert [v.version for v in repo.list_versions("f", -1, 10)] == ["$LATEST", "1", "2"]
    repo.create_alias("f", "live", {"FunctionVersion": "1"}, "a1")
    with pytest.raises(StoreConflict):
        repo.create_alias("f", "live", {"FunctionVersion": "1"}, "a2")
    assert repo.aliases_pointing_at("f", "1") == ["live"]
    assert repo.delete("f") is True
    assert repo.get("f") is None and repo.get_alias("f", "live") is None
    store.close()


def test_event_queue_claim_and_recover(store_url: str) -> None:
    store = open_store(store_url)
    events = store.events
    events.enqueue_many([(f"id{i}", "f", None, b"{}", None, 10.0) for i in range(5)])
    claimed = events.claim(now=11.0, lease_s=60.0, limit=3)
    assert [c.request_id for c in claimed] == ["id0", "id1", "id2"]
    assert all(c.attempts == 1 for c in claimed)
    assert len(events.claim(now=11.0, lease_s=60.0, limit=10)) == 2
    assert events.claim(now=11.0, lease_s=60.0, limit=10) == []
    events.complete([claimed[0].seq])
    events.retry_later(claimed[1].seq, available_at=100.0)
    assert events.release_all_leases() == 3
    again = events.claim(now=12.0, lease_s=60.0, limit=10)
    assert sorted(c.request_id for c in again) == ["id2", "id3", "id4"]
    assert [c.request_id for c in events.claim(now=100.0, lease_s=60.0, limit=10)] == ["id1"]
    assert events.depth() == 4
    store.close()
