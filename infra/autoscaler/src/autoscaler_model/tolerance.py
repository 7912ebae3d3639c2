"""The tolerance band around a usage ratio inside which the controller leaves replicas alone."""

from __future__ import annotations

from dataclasses import dataclass

# kube-controller-manager --horizontal-pod-autoscaler-tolerance.
DEFAULT_TOLERANCE = 0.1


@dataclass(frozen=True)
class Tolerances:
    """``Tolerances`` (replica_calculator.go): the scale-down and scale-up tolerances."""

    scale_down: float = DEFAULT_TOLERANCE
    scale_up: float = DEFAULT_TOLERANCE

    def is_within(self, usage_ratio: float) -> bool:
        """``isWithin``: ``1 - scaleDown <= ratio <= 1 + scaleUp`` (``NaN`` is never within)."""
        return (1.0 - self.scale_down) <= usage_ratio <= (1.0 + self.scale_up)
