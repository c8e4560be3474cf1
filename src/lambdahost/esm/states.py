"""The event-source-mapping state machine (pure): API states and their guarded moves.

    Creating --> Enabling --> Enabled <--> Updating
        |            ^           |            |
        v            |           v            v
    Disabled <-- Disabling <-----+        (Enabled | Disabled)
    any live state --> Deleting --> (row removed)

User requests move a mapping into a transitional state (``Enabling``,
``Disabling``, ``Updating``, ``Deleting``); the supervisor then *settles* it
(``Enabled`` or ``Disabled``) once its poller has started or stopped. An
illegal move raises ``InvalidTransition``.
"""

from __future__ import annotations

from enum import StrEnum

from lambdahost.errors import InvalidTransition


class EsmState(StrEnum):
    CREATING = "Creating"
    ENABLING = "Enabling"
    ENABLED = "Enabled"
    DISABLING = "Disabling"
    DISABLED = "Disabled"
    UPDATING = "Updating"
    DELETING = "Deleting"


_S = EsmState
_USER_TARGETS = frozenset({_S.ENABLING, _S.DISABLING, _S.UPDATING, _S.DELETING})

TRANSITIONS: dict[EsmState, frozenset[EsmState]] = {
    _S.CREATING: frozenset({_S.ENABLING, _S.DISABLED}) | _USER_TARGETS,
    _S.ENABLING: frozenset({_S.ENABLED}) | _USER_TARGETS,
    _S.ENABLED: _USER_TARGETS,
    _S.DISABLING: frozenset({_S.DISABLED}) | _USER_TARGETS,
    _S.DISABLED: _USER_TARGETS,
    _S.UPDATING: frozenset({_S.ENABLED, _S.DISABLED}) | _USER_TARGETS,
    _S.DELETING: frozenset(),
}
USER_INITIATED = "USER_INITIATED"


def move(entity: str, current: EsmState, target: EsmState) -> EsmState:
    """Return ``target`` if ``current -> target`` is legal, else raise ``InvalidTransition``."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(entity, current, target)
    return target


def on_update(entity: str, current: EsmState, was_enabled: bool, enabled: bool) -> EsmState:
    """The transitional state an UpdateEventSourceMapping request puts the mapping in."""
    if enabled and not was_enabled:
        target = _S.ENABLING
    elif was_enabled and not enabled:
        target = _S.DISABLING
    else:
        target = _S.UPDATING
    return move(entity, current, target)


def on_delete(entity: str, current: EsmState) -> EsmState:
    return move(entity, current, _S.DELETING)


# The next settling move towards Enabled (or Disabled), from each state.
_TOWARDS_ENABLED = {
    _S.CREATING: _S.ENABLING,
    _S.ENABLING: _S.ENABLED,
    _S.UPDATING: _S.ENABLED,
    _S.DISABLING: _S.ENABLING,
    _S.DISABLED: _S.ENABLING,
}
_TOWARDS_DISABLED = {
    _S.CREATING: _S.DISABLED,
    _S.ENABLING: _S.DISABLING,
    _S.UPDATING: _S.DISABLED,
    _S.DISABLING: _S.DISABLED,
    _S.ENABLED: _S.DISABLING,
}


def settle(entity: str, current: EsmState, enabled: bool) -> list[EsmState]:
    """The moves from ``current`` to the stable state for ``enabled`` (empty if there already).

    A mapping being deleted does not settle.
    """
    goal = _S.ENABLED if enabled else _S.DISABLED
    table = _TOWARDS_ENABLED if enabled else _TOWARDS_DISABLED
    path: list[EsmState] = []
    state = current
    while state is not goal and state is not _S.DELETING:
        state = move(entity, state, table[state])
        path.append(state)
    return path


def is_stable(state: EsmState) -> bool:
    return state in (_S.ENABLED, _S.DISABLED)
