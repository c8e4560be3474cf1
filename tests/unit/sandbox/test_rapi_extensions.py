"""The Extensions API's pure bookkeeping: registration rules, events, init and quiet."""

from __future__ import annotations

import itertools

import pytest

from lambdahost.errors import InvalidTransition
from lambdahost.sandbox.rapi.extensions import ExtensionError, ExtensionRegistry, ExtPhase


def registry(external: tuple[str, ...] = ("ext1", "ext2")) -> ExtensionRegistry[str]:
    ids = itertools.count(1)
    return ExtensionRegistry(lambda: f"id-{next(ids)}", external)


def test_register_and_first_next_ends_init() -> None:
    r = registry()
    a = r.register("ext1", ["INVOKE", "SHUTDOWN"])
    assert (a.ext_id, a.external, a.phase) == ("id-1", True, ExtPhase.REGISTERED)
    assert not r.started(1)
    assert r.next("id-1", "conn-a") == []
    assert r.started(1) and not r.started(2)


@pytest.mark.parametrize(
    ("name", "events", "code"),
    [
        (None, ["INVOKE"], "Extension.MissingExtensionName"),
        ("ext1", "INVOKE", "InvalidRequestFormat"),
        ("ext1", ["INVOKE", "BOGUS"], "Extension.InvalidEventType"),
        ("internal", ["SHUTDOWN"], "ShutdownEventNotSupportedForInternalExtension"),
    ],
)
def test_register_refusals(name: str | None, events: object, code: str) -> None:
    with pytest.raises(ExtensionError) as e:
        registry().register(name, events)
    assert e.value.error_type == code


def test_register_limits() -> None:
    r = registry()
    r.register("ext1", [])
    with pytest.raises(ExtensionError) as dup:
        r.register("ext1", [])
    assert dup.value.status == 409
    for i in range(9):
        r.register(f"internal-{i}", ["INVOKE"])
    with pytest.raises(ExtensionError) as many:
        r.register("one-too-many", [])
    assert many.value.error_type == "Extension.TooManyExtensions"
    r.close()
    with pytest.raises(ExtensionError) as closed:
        r.register("late", [])
    assert closed.value.error_type == "Extension.RegistrationClosed"


def test_invoke_events_and_quiet() -> None:
    r = registry()
    r.register("ext1", ["INVOKE"])
    r.register("ext2", ["SHUTDOWN"])
    r.next("id-1", "a")
    r.next("id-2", "b")
    assert r.quiet()
    out = r.broadcast("INVOKE", {"eventType": "INVOKE", "requestId": "r1"})
    assert out == [("a", {"eventType": "INVOKE", "requestId": "r1"})]
    assert not r.quiet()  # ext1 is busy with it
    assert r.next("id-1", "a2") == []
    assert r.quiet()


def test_events_wait_in_the_backlog_of_a_busy_extension() -> None:
    r = registry()
    r.register("ext1", ["INVOKE", "SHUTDOWN"])
    r.next("id-1", "a")
    r.broadcast("INVOKE", {"n": 1})
    assert r.broadcast("SHUTDOWN", {"n": 2}) == []
    assert r.next("id-1", "b") == [("b", {"n": 2})]


def test_unknown_identifier_and_exited_extensions() -> None:
    r = registry()
    with pytest.raises(ExtensionError) as e:
        r.next("nope", "a")
    assert e.value.status == 403
    r.register("ext1", ["INVOKE"])
    r.next("id-1", "a")
    r.broadcast("INVOKE", {})
    r.exited("ext1")
    assert r.quiet() and r.subscribers("INVOKE") == []
    with pytest.raises(ExtensionError):
        r.next("id-1", "b")


def test_drop_waiter_keeps_the_event_for_the_next_poll() -> None:
    r = registry()
    r.register("ext1", ["INVOKE"])
    r.next("id-1", "a")
    r.drop_waiter("a")
    assert r.broadcast("INVOKE", {"x": 1}) == []
    assert r.next("id-1", "b") == [("b", {"x": 1})]


def test_illegal_moves_raise() -> None:
    r = registry()
    ext = r.register("ext1", [])
    with pytest.raises(InvalidTransition):
        ext.move(ExtPhase.BUSY)
