"""The event-source-mapping state machine (lambdahost.esm.states)."""

from __future__ import annotations

import pytest

from lambdahost.errors import InvalidTransition
from lambdahost.esm.states import TRANSITIONS, EsmState, move, on_delete, on_update, settle

S = EsmState


def test_table_covers_all_states_and_deleting_is_terminal() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.DELETING] == frozenset()


@pytest.mark.parametrize(
    ("start", "enabled", "path"),
    [
        (S.CREATING, True, [S.ENABLING, S.ENABLED]),
        (S.CREATING, False, [S.DISABLED]),
        (S.UPDATING, True, [S.ENABLED]),
        (S.UPDATING, False, [S.DISABLED]),
        (S.ENABLING, True, [S.ENABLED]),
        (S.DISABLING, False, [S.DISABLED]),
        (S.DISABLING, True, [S.ENABLING, S.ENABLED]),
        (S.ENABLED, False, [S.DISABLING, S.DISABLED]),
        (S.ENABLED, True, []),
        (S.DISABLED, False, []),
        (S.DELETING, True, []),
    ],
)
def test_settle_paths(start: S, enabled: bool, path: list[S]) -> None:
    assert settle("m", start, enabled) == path


def test_user_updates() -> None:
    assert on_update("m", S.ENABLED, True, False) is S.DISABLING
    assert on_update("m", S.DISABLED, False, True) is S.ENABLING
    assert on_update("m", S.ENABLED, True, True) is S.UPDATING
    assert on_update("m", S.CREATING, True, True) is S.UPDATING
    assert on_delete("m", S.DISABLED) is S.DELETING


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.DELETING, S.UPDATING),
        (S.DELETING, S.ENABLED),
        (S.ENABLED, S.DISABLED),
        (S.DISABLED, S.ENABLED),
        (S.CREATING, S.ENABLED),
    ],
)
def test_illegal_moves_raise(start: S, target: S) -> None:
    with pytest.raises(InvalidTransition) as caught:
        move("uuid-1", start, target)
    assert caught.value.entity == "uuid-1"
    assert caught.value.current is start and caught.value.target is target


def test_updating_a_deleting_mapping_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        on_update("m", S.DELETING, True, True)
