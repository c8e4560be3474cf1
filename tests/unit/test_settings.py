"""The memory budget a configured value stands for (pure)."""

from __future__ import annotations

from lambdahost.settings import effective_memory_budget, host_memory_mb


def test_memory_budget_defaults_to_three_quarters_of_the_host() -> None:
    total = host_memory_mb()
    assert total is not None and total > 0
    assert effective_memory_budget(None) == total * 3 // 4
    assert effective_memory_budget(0) is None
    assert effective_memory_budget(2048) == 2048
