"""Admission of Lambda Managed Instances invocations: environments within vCPU budgets.

A function version on a capacity provider runs in execution environments of
``vcpus`` vCPUs each (``MemorySize / 1024 / ExecutionEnvironmentMemoryGiBPerVCpu``),
each serving up to ``per_env`` invocations at once (PerExecutionEnvironmentMaxConcurrency).
The version may hold at most ``max_envs`` environments (MaxExecutionEnvironments) and,
together with every other version on the same provider, at most the provider's
``MaxVCpuCount`` vCPUs. A version holds ``max(min_envs, ceil(in_flight / per_env))``
environments: the ones MinExecutionEnvironments keeps, or the ones its invocations fill.

An invocation that would need an environment beyond those bounds is rejected at once
(AWS: "if all runtime workers are busy with invocations, new invocation requests are
rejected"); lambdahost does not queue it. AWS's ``ThrottleReason`` enum has no value of its
own for Managed Instances; ``THROTTLE_REASON`` is the one for exhausted concurrent capacity
that is not a function reservation.

Pure: no clock, no I/O. The caller passes each version's current shape and its provider's
vCPU limit, and releases what it acquired. Single-threaded use (the event loop): a check
and its increment are one step, so counts stay exact under concurrent clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

THROTTLE_REASON = "ConcurrentInvocationLimitExceeded"

VersionKey = tuple[str, str]  # (function name, version)


@dataclass(frozen=True)
class VersionShape:
    """What the budget needs to know about one function version."""

    provider: str  # capacity provider ARN
    vcpus: Fraction  # per execution environment
    per_env: int  # invocations one environment serves at once
    max_envs: int | None = None  # None: bounded by the provider's vCPUs only
    min_envs: int = 0


def envs_for(in_flight: int, per_env: int) -> int:
    """Environments that ``in_flight`` invocations fill, ``per_env`` to an environment."""
    return -(-in_flight // per_env)


@dataclass
class InstanceBudget:
    in_flight: dict[VersionKey, int] = field(default_factory=dict)
    shapes: dict[VersionKey, VersionShape] = field(default_factory=dict)

    def held_envs(self, key: VersionKey) -> int:
        shape = self.shapes.get(key)
        if shape is None:
            return 0
        return max(shape.min_envs, envs_for(self.in_flight.get(key, 0), shape.per_env))

    def used_vcpus(self, provider: str, *, excluding: VersionKey | None = None) -> Fraction:
        """vCPUs of ``provider`` held by its versions (all, or all but ``excluding``)."""
        return sum(
            (
                self.held_envs(key) * shape.vcpus
                for key, shape in self.shapes.items()
                if shape.provider == provider and key != excluding
            ),
            Fraction(0),
        )

    def allowed_envs(self, key: VersionKey, shape: VersionShape, provider_vcpus: int) -> int:
        """Environments ``key`` may hold now, given what the provider's other versions hold."""
        free = Fraction(provider_vcpus) - self.used_vcpus(shape.provider, excluding=key)
        by_vcpus = max(0, int(free // shape.vcpus))
        allowed = max(by_vcpus, shape.min_envs)  # environments Min keeps exist already
        return allowed if shape.max_envs is None else min(allowed, shape.max_envs)

    def limit(self, key: VersionKey, shape: VersionShape, provider_vcpus: int) -> int:
        """Invocations ``key`` may have in flight now."""
        return self.allowed_envs(key, shape, provider_vcpus) * shape.per_env

    def try_acquire(self, key: VersionKey, shape: VersionShape, provider_vcpus: int) -> bool:
        """Take one invocation slot for ``key``; False (nothing changes) if none is free."""
        wanted = self.in_flight.get(key, 0) + 1
        if envs_for(wanted, shape.per_env) > self.allowed_envs(key, shape, provider_vcpus):
            return False
        self.in_flight[key] = wanted
        self.shapes[key] = shape
        return True

    def release(self, key: VersionKey) -> None:
        left = self.in_flight.get(key, 0) - 1
        if left > 0:
            self.in_flight[key] = left
            return
        self.in_flight.pop(key, None)
        shape = self.shapes.get(key)
        if shape is not None and shape.min_envs == 0:
            del self.shapes[key]

    def set_shape(self, key: VersionKey, shape: VersionShape | None) -> None:
        """A version's shape changed (its scaling config), or it is gone (None): invocations
        in flight keep their environments until they are released."""
        busy = bool(self.in_flight.get(key))
        if shape is None:
            current = self.shapes.get(key)
            if busy and current is not None:
                self.shapes[key] = replace(current, min_envs=0)
            else:
                self.shapes.pop(key, None)
        elif shape.min_envs == 0 and not busy:
            self.shapes.pop(key, None)
        else:
            self.shapes[key] = shape
