"""The environment state machine (lambdahost.sandbox.states)."""

from __future__ import annotations

import pytest

from lambdahost.errors import InvalidTransition
from lambdahost.sandbox.states import TRANSITIONS, EnvLifecycle, can_move
from lambdahost.sandbox.types import EnvState as S


def test_happy_path() -> None:
    lc = EnvLifecycle("env-1")
    assert lc.state is S.GENERIC
    assert lc.move(S.INITIALIZING) is S.GENERIC
    assert lc.move(S.INVOKING) is S.INITIALIZING
    lc.move(S.IDLE)
    lc.move(S.INVOKING)
    lc.move(S.IDLE)
    assert lc.alive
    assert lc.die() is True
    assert not lc.alive
    assert lc.die() is False


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.GENERIC, S.INVOKING),
        (S.GENERIC, S.IDLE),
        (S.INITIALIZING, S.GENERIC),
        (S.IDLE, S.INITIALIZING),
        (S.INVOKING, S.INVOKING),
        (S.DEAD, S.GENERIC),
        (S.DEAD, S.IDLE),
    ],
)
def test_illegal_moves_raise(start: S, target: S) -> None:
    lc = EnvLifecycle("env-7", start)
    with pytest.raises(InvalidTransition) as err:
        lc.move(target)
    assert err.value.entity == "env-7"
    assert err.value.current is start and err.value.target is target
    assert lc.state is start


def test_pre_initialised_env_goes_idle_when_ready() -> None:
    lc = EnvLifecycle("env-2")
    lc.move(S.INITIALIZING)
    lc.move(S.IDLE)
    lc.move(S.INVOKING)
    assert lc.state is S.INVOKING


def test_every_state_can_die_except_dead() -> None:
    for state in S:
        assert can_move(state, S.DEAD) == (state is not S.DEAD)


def test_table_covers_all_states() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.DEAD] == frozenset()
