"""Put/GetFunctionScalingConfig: execution environments of Managed Instances versions.

A published version of a function on a capacity provider may be given
``MinExecutionEnvironments`` and ``MaxExecutionEnvironments``. The configuration is
stored first (so it survives restarts), then applied: the maximum bounds admission
(``app.instance_gate``); the minimum is kept initialised ahead of demand through the
sandbox's provisioning (the machinery of provisioned concurrency), and counts against the
provider's vCPUs. Without a configuration lambdahost keeps no environment warm (AWS starts
three per published version; a local host scales to zero instead).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lambdahost.core import managed_instances as lmi
from lambdahost.core.arns import LATEST
from lambdahost.errors import ApiError, function_not_found, invalid_parameter
from lambdahost.store.repos import VersionRow
from lambdahost.store.scaling import ScalingRow

if TYPE_CHECKING:
    from lambdahost.app.platform import Platform

log = logging.getLogger("lambdahost.scaling")
Key = tuple[str, str]


class ScalingService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._rows: dict[Key, ScalingRow] = {}
        # Per version: the environment key provisioned, and how many environments.
        self._provisioned: dict[Key, tuple[str, int]] = {}
        self._tasks: dict[Key, asyncio.Task[None]] = {}

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        rows = await self.platform.store.call(lambda s: s.scaling.list())
        for row in rows:
            self._rows[(row.function_name, row.version)] = row
            version = await self.platform.functions.version(row.function_name, row.version)
            if version is not None:
                self._apply(version)
        self.platform.change_listeners.append(self._function_changed)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    def bounds(self, name: str, version: str) -> tuple[int | None, int | None]:
        """(MinExecutionEnvironments, MaxExecutionEnvironments) of a version; None: unset."""
        row = self._rows.get((name, version))
        return (row.min_envs, row.max_envs) if row else (None, None)

    # -- API ---------------------------------------------------------------------------------
    async def _version(self, name: str, qualifier: str | None) -> VersionRow:
        qualifier = lmi.validate_published_qualifier(qualifier)
        await self.platform.functions.require_latest(name)
        row = (
            None
            if qualifier == "$LATEST.PUBLISHED"
            else (await self.platform.functions.version(name, qualifier))
        )
        if row is None:  # lambdahost does not publish to $LATEST.PUBLISHED
            raise function_not_found(self.platform.arns.function(name, qualifier))
        if lmi.lmi_config(row.config) is None:
            raise invalid_parameter(
                "FunctionScalingConfig isn't supported for Lambda Default functions."
            )
        return row

    async def put(self, name: str, qualifier: str | None, body: Any) -> dict[str, Any]:
        low, high = lmi.parse_scaling_config(body)
        version = await self._version(name, qualifier)
        row = ScalingRow(name, version.version, low, high)
        if not await self.platform.store.call(lambda s: s.scaling.put(row)):
            raise function_not_found(self.platform.arns.function(name, version.version))
        self._rows[(name, version.version)] = row
        self._apply(version)
        return {"FunctionState": "Active"}

    async def get(self, name: str, qualifier: str | None) -> dict[str, Any]:
        version = await self._version(name, qualifier)
        result: dict[str, Any] = {"FunctionArn": self.platform.arns.function(name, version.version)}
        row = self._rows.get((name, version.version))
        if row is not None:
            shape = _shape(row)
            result["RequestedFunctionScalingConfig"] = shape
            result["AppliedFunctionScalingConfig"] = dict(shape)  # applied as requested
        return result

    # -- applying ------------------------------------------------------------------------------
    def _apply(self, version: VersionRow) -> None:
        key = (version.function_name, version.version)
        self.platform.instance_gate.budget.set_shape(
            key, self.platform.instance_gate.shape(version)
        )
        previous = self._tasks.pop(key, None)
        if previous is not None:
            previous.cancel()
        self._tasks[key] = asyncio.create_task(self._provision(key))

    async def _provision(self, key: Key) -> None:
        platform = self.platform
        row = self._rows.get(key)
        wanted = (row.min_envs or 0) if row else 0
        try:
            resolved = await platform.functions.resolve(*key)
            spec = await platform.invoker.spec_for(resolved)
        except ApiError as error:
            log.warning("scaling config of %s:%s not applied: %s", *key, error.message)
            return
        before = self._provisioned.pop(key, None)
        if before is not None and (before[0] != spec.key or wanted < before[1]):
            # Fewer (or none) wanted: the environments become ordinary warm ones, reaped when
            # idle, and the wanted number is initialised afresh.
            platform.manager.unprovision(before[0])
        if wanted <= 0:
            return
        self._provisioned[key] = (spec.key, wanted)
        reason = await platform.manager.provision(spec, wanted)
        if reason is not None:
            log.warning("MinExecutionEnvironments of %s:%s failed: %s", *key, reason)

    def _forget(self, key: Key) -> None:
        self._rows.pop(key, None)
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
        provisioned = self._provisioned.pop(key, None)
        if provisioned is not None:
            self.platform.manager.unprovision(provisioned[0])
        self.platform.instance_gate.budget.set_shape(key, None)

    def _function_changed(self, name: str, retired: str | None) -> None:
        if retired is None or retired == LATEST:
            return  # published versions never change
        for key in [k for k in self._rows if k[0] == name and retired in ("*", k[1])]:
            self._forget(key)

    def environments(self, name: str, version: str) -> tuple[int, int]:
        """(initialised, idle) environments MinExecutionEnvironments keeps for a version."""
        provisioned = self._provisioned.get((name, version))
        return self.platform.manager.provisioned(provisioned[0]) if provisioned else (0, 0)


def _shape(row: ScalingRow) -> dict[str, int]:
    shape: dict[str, int] = {}
    if row.min_envs is not None:
        shape["MinExecutionEnvironments"] = row.min_envs
    if row.max_envs is not None:
        shape["MaxExecutionEnvironments"] = row.max_envs
    return shape
