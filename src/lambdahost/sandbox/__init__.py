"""Execution environments: Lambda Python handlers run in processes forked from a zygote.

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
    "Outcome",
    "SandboxError",
    "SandboxSettings",
]
