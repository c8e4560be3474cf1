"""SQS storage on SQLite and PostgreSQL with an injected clock: no sleeps, no server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lambdahost.core.clock import FakeClock
from lambdahost.errors import StoreConflict
from lambdahost.esm.model import EsmConfig, MappingRecord
from lambdahost.esm.repo import EsmRepo
from lambdahost.esm.states import EsmState
from lambdahost.sqs.repo import DeadLetter, MessageRepo, NewMessage, QueueRepo, QueueRow
from lambdahost.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


def _message(
    clock: FakeClock,
    body: str,
    *,
    delay: float = 0,
    retention: float = 345600,
    group: str | None = None,
    dedup: str | None = None,
) -> NewMessage:
    now = clock.time()
    return NewMessage(
        message_id=f"id-{body}",
        body=body,
        md5_body="x",
        message_attributes={},
        system_attributes={},
        sender_id="123456789012",
        sent_at=now,
        visible_at=now + delay,
        expires_at=now + retention,
        group_id=group,
        dedup_id=dedup,
        dedup_key=dedup,
    )


def _queue(store: Store, clock: FakeClock, name: str, fifo: bool = False) -> QueueRow:
    return QueueRepo(store.db).create(name, fifo, {}, {}, clock.time())


def test_queue_crud(store: Store) -> None:
    clock = FakeClock()
    queues = QueueRepo(store.db)
    row = _queue(store, clock, "alpha")
    with pytest.raises(StoreConflict):
        _queue(store, clock, "alpha")
    _queue(store, clock, "beta")
    _queue(store, clock, "alpine")
    assert queues.list_names("al", "", 10) == ["alpha", "alpine"]
    assert queues.list_names("", "alpha", 1) == ["alpine"]
    clock.advance(5)
    queues.set_attributes(row.id, {"VisibilityTimeout": "5"}, clock.time())
    updated = queues.get("alpha")
    assert updated is not None and updated.attributes == {"VisibilityTimeout": "5"}
    assert updated.modified_at == updated.created_at + 5
    assert queues.delete(row.id) is True and queues.get("alpha") is None


def test_visibility_timeout_and_receipts(store: Store) -> None:
    clock = FakeClock()
    row = _queue(store, clock, "q")
    messages = MessageRepo(store.db)
    messages.send_many(row.id, False, [_message(clock, "a")], clock.time(), 300)
    first = messages.receive(row.id, False, clock.time(), 10, 30, None)
    assert [m.body for m in first.messages] == ["a"]
    assert first.messages[0].receive_count == 1
    assert QueueRepo(store.db).counts(row.id, clock.time()) == (0, 1, 0)
    clock.advance(29)
    empty = messages.receive(row.id, False, clock.time(), 10, 30, None)
    assert empty.messages == [] and empty.next_visible_at == pytest.approx(clock.time() + 1)
    clock.advance(1)
    second = messages.receive(row.id, False, clock.time(), 10, 30, None)
    again = second.messages[0]
    assert again.receive_count == 2
    assert again.first_received_at == first.messages[0].first_received_at
    # The first receipt is stale now: it neither changes visibility nor deletes.
    stale = first.messages[0].receipt
    assert not messages.change_visibility(row.id, again.seq, stale, clock.time(), clock.time())
    messages.delete(row.id, [(again.seq, stale)])
    assert QueueRepo(store.db).counts(row.id, clock.time()) == (0, 1, 0)
    assert messages.change_visibility(row.id, again.seq, again.receipt, clock.time(), clock.time())
    assert QueueRepo(store.db).counts(row.id, clock.time()) == (1, 0, 0)
    third = messages.receive(row.id, False, clock.time(), 10, 30, None).messages[0]
    messages.delete(row.id, [(third.seq, third.receipt)])
    assert QueueRepo(store.db).counts(row.id, clock.time()) == (0, 0, 0)


def test_delay_and_retention(store: Store) -> None:
    clock = FakeClock()
    row = _queue(store, clock, "q")
    messages = MessageRepo(store.db)
    messages.send_many(
        row.id,
        False,
        [_message(clock, "late", delay=10), _message(clock, "short", retention=60)],
        clock.time(),
        300,
    )
    assert QueueRepo(store.db).counts(row.id, clock.time()) == (1, 0, 1)
    clock.advance(60)
    outcome = messages.receive(row.id, False, clock.time(), 10, 30, None)
    assert [m.body for m in outcome.messages] == ["late"]
    assert outcome.expired == 1
    messages.send_many(row.id, False, [_message(clock, "old", retention=60)], clock.time(), 300)
    clock.advance(61)
    assert messages.sweep(clock.time()) == 1


def test_redrive_moves_to_dead_letter_queue(store: Store) -> None:
    clock = FakeClock()
    source = _queue(store, clock, "src")
    dlq = _queue(store, clock, "dlq")
    messages = MessageRepo(store.db)
    dead = DeadLetter(dlq.id, False, 345600, 2, "arn:aws:sqs:us-east-1:123456789012:src")
    messages.send_many(source.id, False, [_message(clock, "m")], clock.time(), 300)
    for expected in (1, 2):
        got = messages.receive(source.id, False, clock.time(), 10, 0, dead).messages
        assert [m.receive_count for m in got] == [expected]
    moved = messages.receive(source.id, False, clock.time(), 10, 0, dead)
    assert moved.messages == [] and moved.redriven == 1
    assert QueueRepo(store.db).counts(source.id, clock.time()) == (0, 0, 0)
    [in_dlq] = messages.receive(dlq.id, False, clock.time(), 10, 30, None).messages
    assert in_dlq.message_id == "id-m" and in_dlq.body == "m" and in_dlq.receive_count == 1
    assert in_dlq.extra_system["DeadLetterQueueSourceArn"].endswith(":src")


def test_fifo_groups_deliver_in_order_one_in_flight_at_a_time(store: Store) -> None:
    clock = FakeClock()
    row = _queue(store, clock, "q.fifo", fifo=True)
    messages = MessageRepo(store.db)
    sent = [
        _message(clock, body, group=group, dedup=body)
        for body, group in (("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A"))
    ]
    outcomes = messages.send_many(row.id, True, sent, clock.time(), 300)
    numbers = [int(o.sequence_number or 0) for o in outcomes]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    first = messages.receive(row.id, True, clock.time(), 1, 30, None).messages
    assert [m.body for m in first] == ["a1"]
    # Group A is blocked while a1 is in flight: only group B is available.
    second = messages.receive(row.id, True, clock.time(), 10, 30, None).messages
    assert [m.body for m in second] == ["b1"]
    assert messages.receive(row.id, True, clock.time(), 10, 30, None).messages == []
    messages.delete(row.id, [(first[0].seq, first[0].receipt)])
    rest = messages.receive(row.id, True, clock.time(), 10, 30, None).messages
    assert [m.body for m in rest] == ["a2", "a3"]


def test_fifo_deduplication_window(store: Store) -> None:
    clock = FakeClock()
    row = _queue(store, clock, "q.fifo", fifo=True)
    messages = MessageRepo(store.db)
    first = messages.send_many(
        row.id, True, [_message(clock, "x", group="g", dedup="d")], clock.time(), 300
    )[0]
    clock.advance(299)
    again = NewMessage(
        **{**_message(clock, "y", group="g", dedup="d").__dict__, "message_id": "other"}
    )
    duplicate = messages.send_many(row.id, True, [again], clock.time(), 300)[0]
    assert duplicate.duplicate and duplicate.message_id == first.message_id
    assert duplicate.sequence_number == first.sequence_number
    assert QueueRepo(store.db).counts(row.id, clock.time()) == (1, 0, 0)
    clock.advance(2)
    later = messages.send_many(row.id, True, [again], clock.time(), 300)[0]
    assert not later.duplicate and later.message_id == "other"


def test_purge_once_a_minute(store: Store) -> None:
    clock = FakeClock()
    row = _queue(store, clock, "q")
    messages = MessageRepo(store.db)
    messages.send_many(
        row.id, False, [_message(clock, "a"), _message(clock, "b")], clock.time(), 300
    )
    assert messages.purge(row.id, clock.time(), 60) is True
    assert QueueRepo(store.db).counts(row.id, clock.time()) == (0, 0, 0)
    clock.advance(59)
    assert messages.purge(row.id, clock.time(), 60) is False
    clock.advance(1)
    assert messages.purge(row.id, clock.time(), 60) is True


def test_dead_letter_sources(store: Store) -> None:
    clock = FakeClock()
    queues = QueueRepo(store.db)
    target = "arn:aws:sqs:us-east-1:123456789012:dlq"
    policy = '{"deadLetterTargetArn":"' + target + '","maxReceiveCount":3}'
    queues.create("a", False, {"RedrivePolicy": policy}, {}, clock.time())
    queues.create("b", False, {}, {}, clock.time())
    assert queues.dead_letter_sources(target) == ["a"]


def test_mapping_store(store: Store) -> None:
    repo = EsmRepo(store.db)
    record = MappingRecord(
        uuid="00000000-0000-0000-0000-000000000001",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        event_source_arn="arn:aws:sqs:us-east-1:123456789012:q",
        config=EsmConfig(batch_size=3, filters=('{"a": ["b"]}',)),
        state=EsmState.CREATING,
        state_reason="USER_INITIATED",
        last_modified=1.5,
        last_result="No records processed",
    )
    repo.insert(record)
    assert repo.get(record.uuid) == record
    assert repo.set_state(record.uuid, EsmState.ENABLED, 2.0)
    repo.set_last_result(record.uuid, "OK")
    got = repo.get(record.uuid)
    assert got is not None and got.state is EsmState.ENABLED and got.last_result == "OK"
    assert [r.uuid for r in repo.page("", 10, record.event_source_arn)] == [record.uuid]
    assert repo.page("", 10, "arn:aws:sqs:us-east-1:123456789012:other") == []
    repo.update(MappingRecord(**{**record.__dict__, "state": EsmState.DELETING}))
    assert not repo.set_state(record.uuid, EsmState.ENABLED, 3.0)
    assert repo.delete(record.uuid) and repo.get(record.uuid) is None


def test_group_commit_isolates_a_failing_write(store: Store) -> None:
    from lambdahost.sqs.waiting import run_group

    clock = FakeClock()

    def create(name: str, fail: bool = False) -> object:
        def write(s: Store) -> object:
            row = QueueRepo(s.db).create(name, False, {}, {}, clock.time())
            if fail:
                raise ValueError("boom")
            return row.name

        return write

    results = run_group(
        store, writes=[create("one"), create("two", fail=True), create("one"), create("three")]
    )
    assert results[0] == (True, "one") and results[3] == (True, "three")
    assert isinstance(results[1][1], ValueError)
    assert isinstance(results[2][1], StoreConflict)
    assert QueueRepo(store.db).list_names("", "", 10) == ["one", "three"]


def test_group_commit_merges_same_kind_writes(store: Store) -> None:
    from lambdahost.sqs.waiting import Mergeable, run_group

    calls: list[list[str]] = []

    def create_all(s: Store, names: list[str]) -> list[str]:
        calls.append(list(names))
        for name in names:
            QueueRepo(s.db).create(name, False, {}, {}, 0.0)
        return [n.upper() for n in names]

    results = run_group(
        store,
        writes=[
            Mergeable("k", ["a", "b"], create_all),
            lambda s: "single",
            Mergeable("k", ["c"], create_all),
            Mergeable("other", ["a"], create_all),  # conflicts with "a": fails alone
        ],
    )
    assert calls[0] == ["a", "b", "c"]  # merged into one call
    assert results[0] == (True, ["A", "B"]) and results[2] == (True, ["C"])
    assert results[1] == (True, "single")
    assert results[3][0] is False and isinstance(results[3][1], StoreConflict)
    # A merged call that fails is retried per write, so only the bad write fails.
    calls.clear()
    retried = run_group(
        store, writes=[Mergeable("k", ["d"], create_all), Mergeable("k", ["a"], create_all)]
    )
    assert calls == [["d", "a"], ["d"], ["a"]]
    assert retried[0] == (True, ["D"]) and retried[1][0] is False
    assert QueueRepo(store.db).list_names("", "", 10) == ["a", "b", "c", "d"]


def test_receive_many_shares_one_scan(store: Store) -> None:
    clock = FakeClock()
    row = _queue(store, clock, "q")
    messages = MessageRepo(store.db)
    messages.send_many(
        row.id, False, [_message(clock, f"m{n}") for n in range(5)], clock.time(), 300
    )
    first, second, third = messages.receive_many(
        row.id, False, clock.time(), [(2, 10.0), (2, 60.0), (5, 10.0)], None
    )
    assert [m.body for m in first.messages] == ["m0", "m1"]
    assert [m.body for m in second.messages] == ["m2", "m3"]
    assert [m.body for m in third.messages] == ["m4"]
    clock.advance(10)
    again = messages.receive(row.id, False, clock.time(), 10, 10, None)
    assert sorted(m.body for m in again.messages) == ["m0", "m1", "m4"]  # m2, m3 still hidden
    empty = messages.receive_many(row.id, False, clock.time(), [(1, 5.0), (1, 5.0)], None)
    assert all(not o.messages for o in empty)
    assert empty[0].next_visible_at == pytest.approx(clock.time() + 5)
