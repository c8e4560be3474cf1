"""Admission of invocations of Lambda Managed Instances functions (capacity providers).

``InvokeService.invoke_sync`` asks ``InstanceGate.admit`` before it runs anything. For a
version on a capacity provider the gate takes a slot in ``core.instance_budget``: at most
``allowed environments x PerExecutionEnvironmentMaxConcurrency`` invocations in flight,
the environments bounded by the version's MaxExecutionEnvironments and by the provider's
MaxVCpuCount shared with every other version on it. The next invocation is rejected at
once with 429 ``TooManyRequestsException`` (Event invocations are then retried like any
throttle, see ``app.events``). ``$LATEST`` of such a function does not run: Lambda runs
published versions on the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lambdahost.core import managed_instances as lmi
from lambdahost.core.arns import LATEST
from lambdahost.core.instance_budget import THROTTLE_REASON, InstanceBudget, VersionShape
from lambdahost.errors import ApiError, too_many_requests
from lambdahost.store.repos import VersionRow

if TYPE_CHECKING:
    from lambdahost.app.functions import Resolved
    from lambdahost.app.platform import Platform


def no_published_version() -> ApiError:
    # The model's NoPublishedVersionException (400, "Message"); its documented meaning.
    return ApiError(
        "NoPublishedVersionException",
        "The function has no published versions available.",
        400,
        message_key="Message",
    )


class InstanceGate:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.budget = InstanceBudget()

    def shape(self, row: VersionRow) -> VersionShape | None:
        """The budget's view of a published version on a provider (None: not on one)."""
        found = lmi.lmi_config(row.config)
        if found is None:
            return None
        low, high = self.platform.scaling.bounds(row.function_name, row.version)
        return VersionShape(
            provider=str(found["CapacityProviderArn"]),
            vcpus=lmi.config_vcpus(row.config),
            per_env=max(1, int(found.get("PerExecutionEnvironmentMaxConcurrency") or 1)),
            max_envs=high,
            min_envs=low or 0,
        )

    async def admit(self, resolved: Resolved) -> Callable[[], None]:
        row = resolved.row
        shape = self.shape(row)
        if shape is None:
            return _nothing
        if row.version == LATEST:
            raise no_published_version()
        provider_vcpus = await self.platform.capacity.vcpu_limit(shape.provider)
        key = (row.function_name, row.version)
        # No await from here on: the check and the increment are one step.
        if not self.budget.try_acquire(key, shape, provider_vcpus):
            self.platform.concurrency.counters(row.function_name).throttles += 1
            raise too_many_requests(THROTTLE_REASON)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.budget.release(key)

        return release


def _nothing() -> None:
    return None
