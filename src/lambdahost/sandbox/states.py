r"""The execution-environment state machine (pure): legal moves and their guard.

    GENERIC --assign--> INITIALIZING --ready--> INVOKING <--> IDLE
       |                     |   \----ready (pre-initialised)-----^  |
       +---------------------+------> DEAD <------+------------+

An on-demand environment receives its first request together with its assignment,
so a successful init moves straight on to INVOKING. A pre-initialised one
(provisioned concurrency) is assigned without a request and goes to IDLE when
ready. A SnapStart template is pre-initialised, then snapshotted (IDLE -> TEMPLATE): it
forks restored environments and is never invoked. Anything may die. DEAD is terminal.
The I/O side (``env.py``) calls ``EnvLifecycle.move`` for every change, so an
illegal move is caught as ``InvalidTransition`` instead of corrupting the pools.
"""

from __future__ import annotations

from lambdahost.errors import InvalidTransition
from lambdahost.sandbox.types import EnvState

_S = EnvState

TRANSITIONS: dict[EnvState, frozenset[EnvState]] = {
    _S.GENERIC: frozenset({_S.INITIALIZING, _S.DEAD}),
    _S.INITIALIZING: frozenset({_S.INVOKING, _S.IDLE, _S.DEAD}),
    _S.INVOKING: frozenset({_S.IDLE, _S.DEAD}),
    _S.IDLE: frozenset({_S.INVOKING, _S.TEMPLATE, _S.DEAD}),
    _S.TEMPLATE: frozenset({_S.DEAD}),
    _S.DEAD: frozenset(),
}


def can_move(current: EnvState, target: EnvState) -> bool:
    return target in TRANSITIONS[current]


class EnvLifecycle:
    """Holds one environment's state; ``move`` enforces ``TRANSITIONS``."""

    __slots__ = ("entity", "state")

    def __init__(self, entity: str, state: EnvState = EnvState.GENERIC) -> None:
        self.entity = entity
        self.state = state

    def move(self, target: EnvState) -> EnvState:
        """Move to ``target`` and return the previous state; raise if illegal."""
        current = self.state
        if target not in TRANSITIONS[current]:
            raise InvalidTransition(self.entity, current, target)
        self.state = target
        return current

    def die(self) -> bool:
        """Move to DEAD from anywhere; return False if it was already dead."""
        if self.state is EnvState.DEAD:
            return False
        self.state = EnvState.DEAD
        return True

    @property
    def alive(self) -> bool:
        return self.state is not EnvState.DEAD
