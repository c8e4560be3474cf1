"""Execution environments: processes forked from a zygote, running Lambda Python handlers
on the built-in runtime, or any runtime that speaks the Lambda Runtime API (``Launch``).

Public surface: ``EnvironmentManager`` and the value types it takes and returns.
Everything else in this package is implementation (see each module's docstring).
"""

from lambdahost.sandbox.manager import EnvironmentManager
from lambdahost.sandbox.types import (
    CapacityError,
    EnvInfo,
    EnvSpec,
    EnvState,
    InvokeRequest,
    InvokeResult,
    Launch,
    Outcome,
    SandboxError,
    SandboxSettings,
)

__all__ = [
    "CapacityError",
    "EnvInfo",
    "EnvSpec",
    "EnvState",
    "EnvironmentManager",
    "InvokeRequest",
    "InvokeResult",
    "Launch",
    "Outcome",
    "SandboxError",
    "SandboxSettings",
]
