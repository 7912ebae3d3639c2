"""``spec.behavior``: scaling policies, their defaults, the period's scale events and their limits.

Transcribed from ``pkg/apis/autoscaling/v2/defaults.go`` (``GenerateHPAScale{Up,Down}Rules``)
and ``horizontal.go`` (``storeScaleEvent``, ``markScaleEventsOutdated``,
``getReplicasChangePerPeriod``, ``calculateScaleUpLimitWithScalingRules``,
``calculateScaleDownLimitWithBehaviors``, ``calculateScaleUpLimit``).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from autoscaler_model import _goint
from autoscaler_model.quantity import parse_quantity

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class PolicyType(enum.StrEnum):
    """``HPAScalingPolicyType``."""

    PODS = "Pods"
    PERCENT = "Percent"


class SelectPolicy(enum.StrEnum):
    """``ScalingPolicySelect``."""

    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


@dataclass(frozen=True)
class ScalingPolicy:
    """``HPAScalingPolicy``: at most ``value`` pods or percent per ``period_seconds``."""

    type: PolicyType
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """``HPAScalingRules`` as written; ``None`` fields take the defaults."""

    stabilization_window_seconds: int | None = None
    select_policy: SelectPolicy | None = None
    policies: tuple[ScalingPolicy, ...] | None = None
    tolerance: float | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> ScalingRules | None:
        """Read ``scaleUp``/``scaleDown`` of an ``autoscaling/v2`` manifest."""
        if spec is None:
            return None
        policies = spec.get("policies")
        tolerance = spec.get("tolerance")
        return cls(
            stabilization_window_seconds=spec.get("stabilizationWindowSeconds"),
            select_policy=SelectPolicy(spec["selectPolicy"]) if "selectPolicy" in spec else None,
            policies=None
            if policies is None
            else tuple(
                ScalingPolicy(PolicyType(p["type"]), int(p["value"]), int(p["periodSeconds"]))
                for p in policies
            ),
            tolerance=None if tolerance is None else parse_quantity(tolerance),
        )


DEFAULT_SCALE_UP_RULES = ScalingRules(
    stabilization_window_seconds=0,
    select_policy=SelectPolicy.MAX,
    policies=(
        ScalingPolicy(PolicyType.PODS, 4, 15),
        ScalingPolicy(PolicyType.PERCENT, 100, 15),
    ),
)
# The scale-down window stays unset: the controller fills it from its
# --horizontal-pod-autoscaler-downscale-stabilization flag.
DEFAULT_SCALE_DOWN_RULES = ScalingRules(
    stabilization_window_seconds=None,
    select_policy=SelectPolicy.MAX,
    policies=(ScalingPolicy(PolicyType.PERCENT, 100, 15),),
)


def _copy_rules(source: ScalingRules | None, defaults: ScalingRules) -> ScalingRules:
    """``copyHPAScalingRules``: every field the user set wins over the default."""
    if source is None:
        return defaults
    return ScalingRules(
        stabilization_window_seconds=(
            defaults.stabilization_window_seconds
            if source.stabilization_window_seconds is None
            else source.stabilization_window_seconds
        ),
        select_policy=source.select_policy or defaults.select_policy,
        policies=defaults.policies if source.policies is None else source.policies,
        tolerance=defaults.tolerance if source.tolerance is None else source.tolerance,
    )


def generate_scale_up_rules(rules: ScalingRules | None) -> ScalingRules:
    """``GenerateHPAScaleUpRules``."""
    return _copy_rules(rules, DEFAULT_SCALE_UP_RULES)


def generate_scale_down_rules(rules: ScalingRules | None) -> ScalingRules:
    """``GenerateHPAScaleDownRules``."""
    return _copy_rules(rules, DEFAULT_SCALE_DOWN_RULES)


@dataclass(frozen=True)
class Behavior:
    """``HorizontalPodAutoscalerBehavior`` after ``SetDefaults_HorizontalPodAutoscalerBehavior``."""

    scale_up: ScalingRules = field(default=DEFAULT_SCALE_UP_RULES)
    scale_down: ScalingRules = field(default=DEFAULT_SCALE_DOWN_RULES)

    @classmethod
    def of(cls, scale_up: ScalingRules | None, scale_down: ScalingRules | None) -> Behavior:
        """A behavior with the API defaults filled in, as the API server stores it."""
        return cls(generate_scale_up_rules(scale_up), generate_scale_down_rules(scale_down))

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> Behavior | None:
        """Read ``spec.behavior`` of an ``autoscaling/v2`` manifest (``None`` when absent)."""
        if spec is None:
            return None
        return cls.of(
            ScalingRules.from_spec(spec.get("scaleUp")),
            ScalingRules.from_spec(spec.get("scaleDown")),
        )

    def with_downscale_window(self, seconds: int) -> Behavior:
        """``maybeInitScaleDownStabilizationWindow``: the controller's default when unset."""
        if self.scale_down.stabilization_window_seconds is not None:
            return self
        return replace(
            self, scale_down=replace(self.scale_down, stabilization_window_seconds=seconds)
        )


@dataclass
class ScaleEvent:
    """``timestampedScaleEvent``: a past change (always non-negative) and whether it expired."""

    replica_change: int
    timestamp: float
    outdated: bool = False


def longest_policy_period(rules: ScalingRules) -> int:
    """``getLongestPolicyPeriod``."""
    return max((p.period_seconds for p in rules.policies or ()), default=0)


def mark_scale_events_outdated(
    events: Sequence[ScaleEvent], longest_period: int, now: float
) -> None:
    """``markScaleEventsOutdated``: events older than the longest period may be reused."""
    cutoff = now - longest_period
    for event in events:
        if event.timestamp < cutoff:
            event.outdated = True


def store_scale_event(
    events: list[ScaleEvent], rules: ScalingRules, change: int, now: float
) -> None:
    """``storeScaleEvent`` for one direction: replace the last outdated event, else append."""
    mark_scale_events_outdated(events, longest_policy_period(rules), now)
    reuse = None
    for index, event in enumerate(events):
        if event.outdated:
            reuse = index
    new_event = ScaleEvent(change, now)
    if reuse is None:
        events.append(new_event)
    else:
        events[reuse] = new_event


def replicas_change_per_period(
    period_seconds: int, events: Sequence[ScaleEvent], now: float
) -> int:
    """``getReplicasChangePerPeriod``: the changes strictly within the last period."""
    cutoff = now - period_seconds
    return sum(e.replica_change for e in events if e.timestamp > cutoff)


def _period_start(
    current_replicas: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    policy: ScalingPolicy,
    now: float,
) -> int:
    """The replicas at the start of the policy's period: current, less what was added within
    it, plus what was removed within it."""
    return (
        current_replicas
        - replicas_change_per_period(policy.period_seconds, scale_up_events, now)
        + replicas_change_per_period(policy.period_seconds, scale_down_events, now)
    )


def scale_up_limit(
    current_replicas: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
    now: float,
) -> int:
    """``calculateScaleUpLimitWithScalingRules``: the most replicas the policies allow now.

    Each policy counts from the replicas at the start of its period (current, minus what was
    added, plus what was removed within it); ``Max`` takes the most permissive policy,
    ``Min`` the least, ``Disabled`` allows no change.
    """
    if rules.select_policy is SelectPolicy.DISABLED:
        return current_replicas
    proposals = []
    for policy in rules.policies or ():
        start = _period_start(current_replicas, scale_up_events, scale_down_events, policy, now)
        if policy.type is PolicyType.PODS:
            proposals.append(start + policy.value)
        else:
            # Rounded up so that a small percentage still allows one more pod.
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
    if not proposals:
        return _goint.MAX_INT32 if rules.select_policy is SelectPolicy.MIN else _goint.MIN_INT32
    return min(proposals) if rules.select_policy is SelectPolicy.MIN else max(proposals)


def scale_down_limit(
    current_replicas: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
    now: float,
) -> int:
    """``calculateScaleDownLimitWithBehaviors``: the fewest replicas the policies allow now."""
    if rules.select_policy is SelectPolicy.DISABLED:
        return current_replicas
    proposals = []
    for policy in rules.policies or ():
        start = _period_start(current_replicas, scale_up_events, scale_down_events, policy, now)
        if policy.type is PolicyType.PODS:
            proposals.append(start - policy.value)
        else:
            # int32(float) truncates toward zero.
            proposals.append(int(start * (1 - policy.value / 100)))
    if not proposals:
        return _goint.MIN_INT32 if rules.select_policy is SelectPolicy.MIN else _goint.MAX_INT32
    return max(proposals) if rules.select_policy is SelectPolicy.MIN else min(proposals)


def legacy_scale_up_limit(current_replicas: int, factor: float, minimum: float) -> int:
    """``calculateScaleUpLimit``: without behavior, ``max(factor x current, minimum)``."""
    return int(max(factor * current_replicas, minimum))
