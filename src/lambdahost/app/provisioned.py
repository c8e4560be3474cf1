"""Provisioned concurrency: configurations per published version or alias.

A configuration is stored first (so it survives restarts), then its
environments are initialised in the background: ``IN_PROGRESS`` until they
are all ready (``READY``), or ``FAILED`` with the init error as the reason.
Invokes of that version use the provisioned environments first and spill over
to on-demand ones. Environments that die are provisioned again by the sandbox.
When an alias is pointed elsewhere, or the function is deleted, the
environments follow.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambdahost.core import snapstart
from lambdahost.core.arns import LATEST, validate_qualifier
from lambdahost.core.clock import lambda_timestamp
from lambdahost.core.concurrency import UNRESERVED_MINIMUM
from lambdahost.core.managed_instances import lmi_config
from lambdahost.errors import ApiError, invalid_parameter, resource_conflict
from lambdahost.store.provisioned import ProvisionedRow

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

log = logging.getLogger("lambdahost.provisioned")


class ProvisionedStatus(enum.Enum):
    IN_PROGRESS = "IN_PROGRESS"
    READY = "READY"
    FAILED = "FAILED"


@dataclass
class _Target:
    row: ProvisionedRow
    key: str | None = None  # the environment key it provisions (name:version:revision)
    version: str | None = None
    status: ProvisionedStatus = ProvisionedStatus.IN_PROGRESS
    reason: str | None = None
    task: asyncio.Task[None] | None = None


def config_not_found() -> ApiError:
    return ApiError(
        "ProvisionedConcurrencyConfigNotFoundException",
        "No Provisioned Concurrency Config found for this function",
        404,
    )


class ProvisionedService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._targets: dict[tuple[str, str], _Target] = {}

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        rows = await self.platform.store.call(lambda s: s.provisioned.list())
        for row in rows:
            self._apply(row)
        self.platform.change_listeners.append(self._function_changed)

    async def stop(self) -> None:
        for target in self._targets.values():
            if target.task is not None:
                target.task.cancel()

    def _apply(self, row: ProvisionedRow) -> None:
        key = (row.function_name, row.qualifier)
        previous = self._targets.get(key)
        if previous is not None and previous.task is not None:
            previous.task.cancel()
        target = _Target(row)
        self._targets[key] = target
        target.task = asyncio.create_task(self._provision(target, previous))

    async def _provision(self, target: _Target, previous: _Target | None) -> None:
        platform = self.platform
        try:
            resolved = await platform.functions.resolve(
                target.row.function_name, target.row.qualifier
            )
        except ApiError as error:
            target.status, target.reason = ProvisionedStatus.FAILED, error.message
            return
        spec = await platform.invoker.spec_for(resolved, "provisioned-concurrency")
        if previous is not None and previous.key is not None and previous.key != spec.key:
            platform.manager.unprovision(previous.key)
        target.key, target.version = spec.key, resolved.executed_version
        target.status, target.reason = ProvisionedStatus.IN_PROGRESS, None
        reason = await platform.manager.provision(spec, target.row.requested)
        if reason is None:
            target.status = ProvisionedStatus.READY
        else:
            log.warning("provisioned concurrency for %s failed: %s", spec.key, reason)
            target.status, target.reason = ProvisionedStatus.FAILED, reason

    def _function_changed(self, name: str, retired: str | None) -> None:
        for (function, _), target in list(self._targets.items()):
            if function != name:
                continue
            if retired == "*":
                if target.task is not None:
                    target.task.cancel()
                if target.key is not None:
                    self.platform.manager.unprovision(target.key)
                del self._targets[(function, target.row.qualifier)]
            else:
                # An alias may point elsewhere now: re-resolve (a no-op if unchanged).
                self._apply(target.row)

    # -- API ---------------------------------------------------------------------------------
    async def put(self, name: str, qualifier: str | None, body: Any) -> dict[str, Any]:
        platform = self.platform
        if not qualifier:
            raise invalid_parameter("Qualifier is required for provisioned concurrency.")
        validate_qualifier(qualifier)
        if qualifier == LATEST:
            raise invalid_parameter(
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
            )
        requested = body.get("ProvisionedConcurrentExecutions") if isinstance(body, dict) else None
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise invalid_parameter(
                "ProvisionedConcurrentExecutions must be an integer of 1 or more."
            )
        resolved = await platform.functions.resolve(name, qualifier)
        if lmi_config(resolved.row.config) is not None:
            # Managed Instances keep environments warm with MinExecutionEnvironments instead.
            raise invalid_parameter(
                "Provisioned Concurrency isn't supported for Lambda Managed Instances functions."
            )
        if snapstart.enabled(resolved.row.config, resolved.executed_version):
            raise invalid_parameter(  # AWS: SnapStart does not support provisioned concurrency
                "Provisioned Concurrency is not supported for functions with SnapStart enabled."
            )
        version = resolved.executed_version
        for (function, other_qualifier), target in self._targets.items():
            if function == name and other_qualifier != qualifier and target.version == version:
                raise resource_conflict(
                    f"Provisioned Concurrency for version {version} is already configured "
                    f"through qualifier {other_qualifier}."
                )
        total = requested + sum(
            t.row.requested for (f, q), t in self._targets.items() if f == name and q != qualifier
        )
        reserved = platform.concurrency.reserved_for(name)
        if reserved is not None and total > reserved:
            raise invalid_parameter(
                "Requested Provisioned Concurrency should not be greater than the "
                f"reservedConcurrentExecution for function ({reserved})."
            )
        available = platform.concurrency.unreserved_limit() - UNRESERVED_MINIMUM
        if reserved is None and total > available:
            raise invalid_parameter(
                "Specified ConcurrentExecutions for function is greater than account's "
                f"unreserved concurrency [{available}]."
            )
        row = ProvisionedRow(name, qualifier, requested, lambda_timestamp(platform.clock.time()))
        await platform.store.call(
            lambda s: s.provisioned.put(name, qualifier, requested, row.last_modified)
        )
        self._apply(row)
        return self._shape(self._targets[(name, qualifier)])

    async def get(self, name: str, qualifier: str | None) -> dict[str, Any]:
        await self.platform.functions.require_latest(name)
        target = self._targets.get((name, qualifier or ""))
        if target is None:
            raise config_not_found()
        return self._shape(target)

    async def list_configs(self, name: str) -> dict[str, Any]:
        await self.platform.functions.require_latest(name)
        configs = []
        for (function, qualifier), target in sorted(self._targets.items()):
            if function == name:
                shape = self._shape(target)
                shape["FunctionArn"] = self.platform.arns.function(name, qualifier)
                configs.append(shape)
        return {"ProvisionedConcurrencyConfigs": configs}

    async def delete(self, name: str, qualifier: str | None) -> None:
        await self.platform.functions.require_latest(name)
        target = self._targets.pop((name, qualifier or ""), None)
        if target is None:
            raise config_not_found()
        if target.task is not None:
            target.task.cancel()
        await self.platform.store.call(lambda s: s.provisioned.delete(name, qualifier or ""))
        if target.key is not None:
            self.platform.manager.unprovision(target.key)

    def functions(self) -> set[str]:
        """Functions with a provisioned-concurrency configuration."""
        return {function for function, _ in self._targets}

    def utilization(self, name: str) -> list[dict[str, Any]]:
        """Per configuration: requested, allocated and available environments."""
        rows = []
        for (function, qualifier), target in sorted(self._targets.items()):
            if function == name:
                shape = self._shape(target)
                shape["Qualifier"] = qualifier
                rows.append(shape)
        return rows

    def _shape(self, target: _Target) -> dict[str, Any]:
        allocated, available = (
            self.platform.manager.provisioned(target.key) if target.key else (0, 0)
        )
        if target.status is ProvisionedStatus.READY and allocated < target.row.requested:
            status = ProvisionedStatus.IN_PROGRESS  # an environment is being replaced
        else:
            status = target.status
        shape: dict[str, Any] = {
            "RequestedProvisionedConcurrentExecutions": target.row.requested,
            "AvailableProvisionedConcurrentExecutions": available,
            "AllocatedProvisionedConcurrentExecutions": allocated,
            "Status": status.value,
            "LastModified": target.row.last_modified,
        }
        if target.reason:
            shape["StatusReason"] = target.reason
        return shape
