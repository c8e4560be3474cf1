"""Alias routing: pick the version an alias invocation runs, by weight.

``AdditionalVersionWeights`` sends the given fraction of invokes to a second
version. The random draw is injected so the choice is testable.
"""

from __future__ import annotations

from collections.abc import Mapping


def pick_version(primary: str, weights: Mapping[str, float], draw: float) -> str:
    """Choose a version; ``draw`` is uniform in [0, 1)."""
    threshold = 0.0
    for version, weight in sorted(weights.items()):
        threshold += float(weight)
        if draw < threshold:
            return version
    return primary
