"""State machines and operation records."""

from __future__ import annotations

import pytest

from lambdahost.durable.model import (
    EXECUTION_TRANSITIONS,
    ExecutionStatus,
    Operation,
    OpStatus,
    OpType,
    advance,
    can_move,
)
from lambdahost.errors import InvalidTransition


def test_terminal_executions_only_move_to_deleting() -> None:
    for status in ExecutionStatus:
        if status.terminal:
            assert EXECUTION_TRANSITIONS[status] == {ExecutionStatus.DELETING}
    assert advance(ExecutionStatus.RUNNING, ExecutionStatus.PAUSED, "a") is ExecutionStatus.PAUSED
    with pytest.raises(InvalidTransition) as exc:
        advance(ExecutionStatus.SUCCEEDED, ExecutionStatus.RUNNING, "arn-1")
    assert "arn-1" in str(exc.value)


@pytest.mark.parametrize(
    ("kind", "current", "target", "legal"),
    [
        (OpType.STEP, None, OpStatus.SUCCEEDED, True),
        (OpType.STEP, OpStatus.STARTED, OpStatus.STARTED, False),
        (OpType.STEP, OpStatus.READY, OpStatus.STARTED, True),
        (OpType.STEP, OpStatus.PENDING, OpStatus.SUCCEEDED, False),
        (OpType.WAIT, OpStatus.STARTED, OpStatus.SUCCEEDED, True),
        (OpType.WAIT, OpStatus.SUCCEEDED, OpStatus.STARTED, False),
        (OpType.CALLBACK, OpStatus.TIMED_OUT, OpStatus.SUCCEEDED, False),
        (OpType.CONTEXT, None, OpStatus.SUCCEEDED, True),
        (OpType.CHAINED_INVOKE, OpStatus.STARTED, OpStatus.STOPPED, True),
    ],
)
def test_operation_transitions(
    kind: OpType, current: OpStatus | None, target: OpStatus, legal: bool
) -> None:
    assert can_move(kind, current, target) is legal


def test_move_to_guards_and_documents_round_trip() -> None:
    op = Operation(
        "s", OpType.STEP, OpStatus.STARTED, 1.5, 3, name="n", attempt=2, error={"ErrorType": "E"}
    )
    op.move_to(OpStatus.PENDING)
    with pytest.raises(InvalidTransition):
        op.move_to(OpStatus.SUCCEEDED)
    again = Operation.from_doc(op.to_doc())
    assert again.to_wire() == op.to_wire()
    assert op.to_wire() == {
        "Id": "s",
        "Name": "n",
        "Type": "STEP",
        "StartTimestamp": 1.5,
        "Status": "PENDING",
        "StepDetails": {"Attempt": 2, "Error": {"ErrorType": "E"}},
    }
    assert op.to_wire(millis=True)["StartTimestamp"] == 1500


def test_enums_match_the_botocore_model() -> None:
    import botocore.session

    from lambdahost.durable.model import Action

    shapes = botocore.session.get_session().get_service_model("lambda")
    for enum, shape in (
        (ExecutionStatus, "ExecutionStatus"),
        (OpStatus, "OperationStatus"),
        (OpType, "OperationType"),
        (Action, "OperationAction"),
    ):
        assert {m.value for m in enum} == set(shapes.shape_for(shape).enum)
