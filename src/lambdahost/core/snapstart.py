"""SnapStart configuration rules (pure): validation, compatibility and version states.

``SnapStart: {ApplyOn: PublishedVersions}`` makes Lambda initialise each published version
once, when it is published, and start new environments of that version from a snapshot of
the initialised one. ``$LATEST`` always reports ``OptimizationStatus: Off``; a published
version reports ``On``. A version being snapshotted is ``Pending`` (``StateReasonCode:
Creating``), then ``Active``, or ``Failed`` when its init (or a before-snapshot hook) failed.
lambdahost's built-in Python runtime implements it, for python3.12 and later as on AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lambdahost.core.arns import constraint_error
from lambdahost.errors import ApiError, invalid_parameter

APPLY_ON = ("PublishedVersions", "None")
MAX_EPHEMERAL_MB = 512
_PYTHON = re.compile(r"^python3\.(\d+)$")

PENDING = {
    "State": "Pending",
    "StateReasonCode": "Creating",
    "StateReason": "The function is being created.",
}


def validate(value: Any) -> dict[str, str]:
    """The stored ``SnapStart`` document for a requested one."""
    if not isinstance(value, Mapping):
        raise invalid_parameter("SnapStart must be an object.")
    apply_on = value.get("ApplyOn", "None")
    if apply_on not in APPLY_ON:
        raise constraint_error(
            apply_on,
            "snapStart.applyOn",
            "Member must satisfy enum value set: [PublishedVersions, None]",
        )
    return {"ApplyOn": str(apply_on), "OptimizationStatus": "Off"}


def requested(config: Mapping[str, Any]) -> bool:
    return (config.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions"


def supports_runtime(runtime: str | None) -> bool:
    m = _PYTHON.match(runtime or "")
    return m is not None and int(m.group(1)) >= 12


def check_compatible(config: Mapping[str, Any]) -> None:
    """Refuse configurations SnapStart cannot run (AWS's documented limits)."""
    if not requested(config):
        return
    runtime = config.get("Runtime")
    if not supports_runtime(runtime):
        raise invalid_parameter(
            f"SnapStart is not supported for the {runtime} runtime. lambdahost supports "
            "SnapStart for python3.12 and later."
        )
    size = int((config.get("EphemeralStorage") or {}).get("Size", 512))
    if size > MAX_EPHEMERAL_MB:
        raise invalid_parameter(
            "SnapStart is not supported for functions with more than 512 MB of ephemeral storage."
        )
    if config.get("DurableConfig"):
        raise invalid_parameter("SnapStart is not supported for durable functions.")


def published_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A version's document as published: SnapStart on, and Pending until snapshotted."""
    out = dict(config)
    if requested(config):
        out["SnapStart"] = {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
        out.update(PENDING)
    return out


def enabled(config: Mapping[str, Any], version: str) -> bool:
    """Whether environments of this version are restored from a snapshot."""
    return version != "$LATEST" and requested(config)


def failure_state(error_type: str, message: str) -> dict[str, str]:
    code = (
        "FunctionError.InitTimeout"
        if error_type == "Runtime.InitTimeout"
        else ("FunctionError.RuntimeInitError")
    )
    return {"State": "Failed", "StateReasonCode": code, "StateReason": f"{error_type}: {message}"}


def check_invocable(config: Mapping[str, Any], version: str) -> None:
    """Invokes of a SnapStart version wait for its snapshot (AWS's 409), or fail with it."""
    if not enabled(config, version):
        return
    state = config.get("State")
    if state == "Pending":
        raise ApiError(
            "SnapStartNotReadyException",
            "Lambda is initializing your function. You can invoke the function when the "
            "function state becomes Active.",
            409,
        )
    if state == "Failed":
        raise ApiError(
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the "
            f"following state: Failed. {config.get('StateReason', '')}".rstrip(),
            409,
        )


def after_restore_error() -> ApiError:
    return ApiError(
        "SnapStartException",
        "The afterRestore() runtime hook encountered an error. For more information, check "
        "the Amazon CloudWatch logs.",
        400,
    )
