"""The durable repository on both dialects: migrations, atomic batches, reload, queries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lambdahost.core.clock import FakeClock
from lambdahost.durable import changes as C
from lambdahost.durable.lifecycle import complete_callback, end_invocation, start_execution
from lambdahost.durable.model import ExecutionStatus, OpStatus
from lambdahost.durable.repo import DurableRepo
from lambdahost.errors import StoreConflict
from lambdahost.store import Store, open_store
from tests.unit.durable.helpers import ARN, Caller, step, wait


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


def test_migration_creates_the_durable_tables(store: Store) -> None:
    versions = {int(r[0]) for r in store.db.execute("SELECT version FROM schema_migrations")}
    assert 3 in versions
    for table in ("durable_executions", "durable_operations", "durable_events", "durable_timers"):
        assert store.db.execute(f"SELECT COUNT(*) FROM {table}")[0][0] == 0


def test_a_checkpoint_round_trips_through_the_store(store: Store, clock: FakeClock) -> None:
    repo = DurableRepo(store.db)
    ex, started = start_execution(
        ARN, input_payload='{"a": 1}', config={"ExecutionTimeout": 60}, now=clock.time()
    )
    repo.apply([started])
    caller = Caller(ex, clock)
    result = caller.send(
        step("s1", "START"),
        step("s1", "SUCCEED", Payload="1"),
        wait("w1", 5),
        {
            "Id": "cb",
            "Type": "CALLBACK",
            "Action": "START",
            "CallbackOptions": {"TimeoutSeconds": 9},
        },
    )
    assert result.changes is not None
    repo.apply([result.changes])
    loaded = repo.load(ex.arn)
    assert loaded is not None
    assert list(loaded.ops) == list(ex.ops)
    assert [op.to_wire() for op in loaded.ops.values()] == [op.to_wire() for op in ex.ops.values()]
    assert loaded.timers == ex.timers
    assert loaded.event_seq == ex.event_seq
    assert loaded.input_payload == '{"a": 1}'
    callback_id = ex.ops["cb"].callback_id
    assert callback_id is not None
    assert repo.callback(callback_id) == (ex.arn, "cb")
    keys = {(t.op_id, t.kind) for t in repo.timers()}
    assert keys == {("", C.EXEC_TIMEOUT), ("w1", C.WAIT), ("cb", C.CB_TIMEOUT)}


def test_closing_clears_timers_and_sets_the_expiry(store: Store, clock: FakeClock) -> None:
    repo = DurableRepo(store.db)
    ex, started = start_execution(
        ARN, input_payload="", config={"RetentionPeriodInDays": 2}, now=clock.time()
    )
    repo.apply([started])
    caller = Caller(ex, clock)
    start = caller.send({"Id": "cb", "Type": "CALLBACK", "Action": "START"})
    assert start.changes is not None
    repo.apply([start.changes])
    done = complete_callback(ex, "cb", clock.time(), result="ok")
    assert done is not None
    repo.apply([done])
    assert repo.wanted() == [ex.arn]
    end = end_invocation(
        ex,
        payload=b'{"Status": "SUCCEEDED", "Result": "1"}',
        function_error=None,
        now=clock.time(),
    )
    repo.apply([end.changes])
    assert repo.timers() == []
    assert repo.wanted() == []
    loaded = repo.load(ex.arn)
    assert loaded is not None and loaded.status is ExecutionStatus.SUCCEEDED
    assert loaded.ops["cb"].status is OpStatus.SUCCEEDED
    assert repo.expired(clock.time() + 2 * 86_400 - 1, 10) == []
    assert repo.expired(clock.time() + 2 * 86_400, 10) == [ex.arn]
    assert repo.delete([ex.arn]) == 1
    assert repo.load(ex.arn) is None
    assert store.db.execute("SELECT COUNT(*) FROM durable_events")[0][0] == 0


def test_a_failing_batch_writes_nothing(store: Store, clock: FakeClock) -> None:
    repo = DurableRepo(store.db)
    ex, started = start_execution(ARN, input_payload="", config={}, now=clock.time())
    _twin, twin_started = start_execution(ARN, input_payload="", config={}, now=clock.time())
    with pytest.raises(StoreConflict):
        repo.apply([started, twin_started])
    assert repo.load(ex.arn) is None


def test_names_are_unique_per_function(store: Store, clock: FakeClock) -> None:
    repo = DurableRepo(store.db)
    _, first = start_execution(ARN, input_payload="", config={}, now=clock.time())
    repo.apply([first])
    other = type(ARN)(
        ARN.partition, ARN.region, ARN.account, ARN.function_name, "2", ARN.name, "exec-9"
    )
    _, second = start_execution(other, input_payload="", config={}, now=clock.time())
    with pytest.raises(StoreConflict):
        repo.apply([second])
    found = repo.find_by_name("fn", "run-1")
    assert found is not None and found.exec_id == "exec-1"


def test_list_and_history_queries(store: Store, clock: FakeClock) -> None:
    repo = DurableRepo(store.db)
    arns = []
    for i in range(3):
        arn = type(ARN)(ARN.partition, ARN.region, ARN.account, "fn", "1", f"run-{i}", f"e{i}")
        ex, started = start_execution(arn, input_payload="", config={}, now=clock.time() + i)
        repo.apply([started])
        arns.append(ex.arn)
    common = {"version": None, "name": None, "started_after": None, "started_before": None}
    newest = repo.list_executions(
        "fn", statuses=[], oldest_first=False, offset=0, limit=10, **common
    )
    assert [e.arn for e in newest] == list(reversed(arns))
    page = repo.list_executions(
        "fn", statuses=["RUNNING"], oldest_first=True, offset=1, limit=1, **common
    )
    assert [e.arn for e in page] == [arns[1]]
    assert (
        repo.list_executions(
            "fn", statuses=["SUCCEEDED"], oldest_first=True, offset=0, limit=10, **common
        )
        == []
    )
    assert [
        e["EventType"] for e in repo.events(arns[0], after=0, limit=10, newest_first=False)
    ] == ["ExecutionStarted"]
