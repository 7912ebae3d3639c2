"""From the metrics' replica count to the one the controller applies (``horizontal.go``).

Stabilization over the recommendation log (``stabilizeRecommendation``,
``stabilizeRecommendationWithBehaviors``) and the rate limits (``convertDesiredReplicasWithRules``
without behavior, ``convertDesiredReplicasWithBehaviorRate`` with it). The recommendation log
is upstream's: one entry per sync, an entry older than every window is overwritten in place
(the last such one) rather than appended, so the log stays as long as the windows need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from autoscaler_model.behavior import (
    ScaleEvent,
    ScalingRules,
    legacy_scale_up_limit,
    scale_down_limit,
    scale_up_limit,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True)
class Recommendation:
    """``timestampedRecommendation``: one sync's unstabilized replica count."""

    replicas: int
    timestamp: float


def _record(
    recommendations: list[Recommendation], old_index: int | None, new: Recommendation
) -> None:
    if old_index is None:
        recommendations.append(new)
    else:
        recommendations[old_index] = new


def stabilize_recommendation(
    recommendations: list[Recommendation], desired: int, window: float, now: float
) -> int:
    """``stabilizeRecommendation`` (no behavior): the highest recommendation within the window."""
    highest = desired
    old_index = None
    cutoff = now - window
    for index, rec in enumerate(recommendations):
        if rec.timestamp < cutoff:
            old_index = index
        elif rec.replicas > highest:
            highest = rec.replicas
    _record(recommendations, old_index, Recommendation(desired, now))
    return highest


def stabilize_recommendation_with_behaviors(
    recommendations: list[Recommendation],
    desired: int,
    current: int,
    up_window: float,
    down_window: float,
    now: float,
) -> tuple[int, str]:
    """``stabilizeRecommendationWithBehaviors``: current held between the windows' min and max.

    A scale-up goes no higher than the lowest recommendation within the scale-up window; a
    scale-down no lower than the highest within the scale-down window.
    """
    up_cutoff = now - up_window
    down_cutoff = now - down_window
    up_recommendation = desired
    down_recommendation = desired
    old_index = None
    for index, rec in enumerate(recommendations):
        if rec.timestamp > up_cutoff:
            up_recommendation = min(rec.replicas, up_recommendation)
        if rec.timestamp > down_cutoff:
            down_recommendation = max(rec.replicas, down_recommendation)
        if rec.timestamp < up_cutoff and rec.timestamp < down_cutoff:
            old_index = index
    recommendation = max(current, up_recommendation)
    recommendation = min(recommendation, down_recommendation)
    _record(recommendations, old_index, Recommendation(desired, now))
    reason = "ScaleUpStabilized" if desired >= current else "ScaleDownStabilized"
    return recommendation, reason


def convert_desired_replicas_with_rules(
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    scale_up_limit_factor: float = 2.0,
    scale_up_limit_minimum: float = 4.0,
) -> tuple[int, str]:
    """``convertDesiredReplicasWithRules``: min/max and ``max(2 x current, 4)`` (the condition)."""
    up_limit = legacy_scale_up_limit(current, scale_up_limit_factor, scale_up_limit_minimum)
    if max_replicas > up_limit:
        maximum, limiting = up_limit, "ScaleUpLimit"
    else:
        maximum, limiting = max_replicas, "TooManyReplicas"
    if desired < min_replicas:
        return min_replicas, "TooFewReplicas"
    if desired > maximum:
        return maximum, limiting
    return desired, "DesiredWithinRange"


def convert_desired_replicas_with_behavior_rate(
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    scale_up: ScalingRules,
    scale_down: ScalingRules,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    now: float,
) -> tuple[int, str]:
    """``convertDesiredReplicasWithBehaviorRate``: min/max and the policies' rate (the reason)."""
    if desired > current:
        up_limit = max(
            scale_up_limit(current, scale_up_events, scale_down_events, scale_up, now), current
        )
        if max_replicas > up_limit:
            maximum, reason = up_limit, "ScaleUpLimit"
        else:
            maximum, reason = max_replicas, "TooManyReplicas"
        if desired > maximum:
            return maximum, reason
    elif desired < current:
        down_limit = min(
            scale_down_limit(current, scale_up_events, scale_down_events, scale_down, now), current
        )
        if min_replicas < down_limit:
            minimum, reason = down_limit, "ScaleDownLimit"
        else:
            minimum, reason = min_replicas, "TooFewReplicas"
        if desired < minimum:
            return minimum, reason
    return desired, "DesiredWithinRange"
