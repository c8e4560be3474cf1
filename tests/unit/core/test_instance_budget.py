"""Managed Instances admission: environments, MaxExecutionEnvironments and provider vCPUs."""

from __future__ import annotations

from fractions import Fraction

from lambdahost.core.instance_budget import InstanceBudget, VersionShape, envs_for
from lambdahost.core.managed_instances import env_vcpus

P = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:p"
Q = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:q"
A = ("a", "1")
B = ("b", "1")


def shape(**kw: object) -> VersionShape:
    values: dict[str, object] = {"provider": P, "vcpus": Fraction(1), "per_env": 3}
    values.update(kw)
    return VersionShape(**values)  # type: ignore[arg-type]


def fill(budget: InstanceBudget, key: tuple[str, str], s: VersionShape, vcpus: int) -> int:
    """Acquire until refused; the number admitted."""
    admitted = 0
    while budget.try_acquire(key, s, vcpus):
        admitted += 1
        assert admitted < 10_000
    return admitted


def test_env_vcpus_is_memory_over_ratio() -> None:
    assert env_vcpus(2048, 2.0) == 1
    assert env_vcpus(8192, 4.0) == 2
    assert env_vcpus(3072, 2.0) == Fraction(3, 2)
    assert env_vcpus(2048, 2.5) == Fraction(4, 5)


def test_envs_for_rounds_up() -> None:
    assert [envs_for(n, 3) for n in (0, 1, 3, 4, 6, 7)] == [0, 1, 1, 2, 2, 3]


def test_max_execution_environments_times_per_env_concurrency() -> None:
    budget = InstanceBudget()
    s = shape(max_envs=2)
    assert budget.limit(A, s, 400) == 6
    assert fill(budget, A, s, 400) == 6
    assert budget.in_flight[A] == 6 and budget.held_envs(A) == 2
    budget.release(A)
    assert budget.try_acquire(A, s, 400)  # the freed slot, once
    assert not budget.try_acquire(A, s, 400)


def test_provider_vcpus_bound_environments() -> None:
    budget = InstanceBudget()
    s = shape(vcpus=Fraction(2), per_env=4)  # 2 vCPUs per environment
    assert fill(budget, A, s, 5) == 8  # floor(5 / 2) = 2 environments x 4
    assert budget.used_vcpus(P) == 4


def test_provider_vcpus_are_shared_between_functions() -> None:
    budget = InstanceBudget()
    a = shape(per_env=2)
    b = shape(per_env=1, vcpus=Fraction(3, 2))
    assert fill(budget, A, a, 4) == 8  # A takes all 4 vCPUs
    assert not budget.try_acquire(B, b, 4)
    budget.release(A)  # A still needs 4 environments for 7 invocations
    assert not budget.try_acquire(B, b, 4)
    budget.release(A)  # 6 in flight: 3 environments, 1 vCPU free: not enough for 1.5
    assert not budget.try_acquire(B, b, 4)
    budget.release(A)
    budget.release(A)  # 4 in flight: 2 environments, 2 vCPUs free
    assert budget.try_acquire(B, b, 4)
    assert not budget.try_acquire(B, b, 4)
    # A cannot grow into the vCPUs B holds now
    assert fill(budget, A, a, 4) == 0
    assert budget.used_vcpus(P) == Fraction(7, 2)


def test_other_providers_do_not_count() -> None:
    budget = InstanceBudget()
    assert fill(budget, A, shape(), 2) == 6
    assert fill(budget, B, shape(provider=Q), 2) == 6


def test_min_environments_are_held_and_counted() -> None:
    budget = InstanceBudget()
    budget.set_shape(A, shape(min_envs=3))
    assert budget.held_envs(A) == 3 and budget.used_vcpus(P) == 3
    assert fill(budget, B, shape(), 4) == 3  # one vCPU left for B
    # A's own invocations run in the environments Min keeps, even with no vCPU left
    assert fill(budget, A, shape(min_envs=3), 4) == 9
    budget.set_shape(A, None)  # the version is gone: in-flight ones keep their envs
    assert budget.held_envs(A) == 3
    for _ in range(9):
        budget.release(A)
    assert budget.held_envs(A) == 0 and A not in budget.shapes


def test_refusal_changes_nothing_and_release_forgets() -> None:
    budget = InstanceBudget()
    s = shape(max_envs=0)
    assert not budget.try_acquire(A, s, 400)
    assert budget.in_flight == {} and budget.shapes == {}
    assert budget.try_acquire(B, shape(), 400)
    budget.release(B)
    assert budget.in_flight == {} and budget.shapes == {}


def test_exact_count_for_many_acquires_and_releases() -> None:
    budget = InstanceBudget()
    s = shape(per_env=5, max_envs=3)
    admitted = [budget.try_acquire(A, s, 400) for _ in range(40)]
    assert admitted.count(True) == 15
    for _ in range(15):
        budget.release(A)
    assert budget.in_flight == {}
    assert [budget.try_acquire(A, s, 400) for _ in range(16)].count(True) == 15
