"""A model of the HPA controller's arithmetic, transcribed from kubernetes/kubernetes
``pkg/controller/podautoscaler`` (``replica_calculator.go``, ``horizontal.go``) and
``pkg/apis/autoscaling/v2/defaults.go`` (INFRA.md §4).

What is modelled: the 15 s sync loop; the 0.1 tolerance; ``calcPlainMetricReplicas`` for a
Resource (CPU utilization) metric with pod grouping (unready pods count as 0 usage when scaling
up, with the direction-flip check); ``GetExternalPerPodMetricReplicas`` for KEDA's AverageValue;
``stabilizeRecommendationWithBehaviors`` (min over the up window, max over the down window);
``convertDesiredReplicasWithBehaviorRate`` with ``calculateScaleUpLimitWithScalingRules`` /
``calculateScaleDownLimitWithBehaviors`` (period-start replicas from the scale events); the
defaults ``GenerateHPAScale{Up,Down}Rules`` fill in; and the legacy path without ``behavior``
(``max(2xcurrent, 4)``, 300 s down-stabilization). Not modelled: missing-metric fallbacks beyond
"unready" pods, the readiness-delay edge cases after the 5-minute CPU initialization period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SYNC_PERIOD_S = 15.0
TOLERANCE = 0.1
DEFAULT_DOWNSCALE_STABILIZATION_S = 300.0


@dataclass(frozen=True)
class Policy:
    """One HPAScalingPolicy."""

    type: str  # "Pods" or "Percent"
    value: int
    period_seconds: int


@dataclass(frozen=True)
class Rules:
    """One HPAScalingRules (scaleUp or scaleDown) after defaulting."""

    stabilization_window_seconds: float
    select_policy: str
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Behavior:
    """``spec.behavior`` with the API defaults filled in."""

    scale_up: Rules
    scale_down: Rules

    @classmethod
    def from_spec(cls, behavior: dict[str, Any]) -> Behavior:
        """Apply ``GenerateHPAScaleUpRules`` / ``GenerateHPAScaleDownRules`` defaults."""
        up = behavior.get("scaleUp", {})
        down = behavior.get("scaleDown", {})
        up_policies = up.get("policies") or [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ]
        down_policies = down.get("policies") or [
            {"type": "Percent", "value": 100, "periodSeconds": 15}
        ]
        return cls(
            scale_up=Rules(
                float(up.get("stabilizationWindowSeconds", 0)),
                up.get("selectPolicy", "Max"),
                tuple(Policy(p["type"], p["value"], p["periodSeconds"]) for p in up_policies),
            ),
            scale_down=Rules(
                float(down.get("stabilizationWindowSeconds", DEFAULT_DOWNSCALE_STABILIZATION_S)),
                down.get("selectPolicy", "Max"),
                tuple(Policy(p["type"], p["value"], p["periodSeconds"]) for p in down_policies),
            ),
        )


def within_tolerance(ratio: float, tolerance: float = TOLERANCE) -> bool:
    """``tolerances.isWithin``: (1 - t) <= ratio <= (1 + t)."""
    return (1.0 - tolerance) <= ratio <= (1.0 + tolerance)


def resource_utilization_replicas(
    current_replicas: int,
    ready_utilizations: list[float],
    unready_pods: int,
    target_utilization: float,
) -> int:
    """``calcPlainMetricReplicas`` for a Resource Utilization metric (equal requests per pod).

    Args:
        current_replicas: The scale's current replicas.
        ready_utilizations: Utilization (% of request) of each pod with a usable sample.
        unready_pods: Pods that are pending, not ready, or whose sample predates readiness.
        target_utilization: ``averageUtilization``.
    """
    if not ready_utilizations:
        return current_replicas  # no metrics: the controller keeps the scale
    ratio = sum(ready_utilizations) / len(ready_utilizations) / target_utilization
    scale_up_with_unready = unready_pods > 0 and ratio > 1.0
    if not scale_up_with_unready:
        if within_tolerance(ratio):
            return current_replicas
        return math.ceil(ratio * len(ready_utilizations))
    # Scaling up: unready pods count as using nothing.
    samples = [*ready_utilizations, *([0.0] * unready_pods)]
    new_ratio = sum(samples) / len(samples) / target_utilization
    if within_tolerance(new_ratio) or (ratio > 1.0 > new_ratio):
        return current_replicas
    new_replicas = math.ceil(new_ratio * len(samples))
    if new_ratio > 1.0 and new_replicas < current_replicas:
        return current_replicas
    return new_replicas


def external_average_value_replicas(
    status_replicas: int, total: float, target_per_pod: float
) -> int:
    """``GetExternalPerPodMetricReplicas`` (KEDA's default metricType AverageValue)."""
    ratio = total / (target_per_pod * status_replicas)
    if within_tolerance(ratio):
        return status_replicas
    return math.ceil(total / target_per_pod)


@dataclass
class Autoscaler:
    """The normalization state of one HPA: recommendations and scale events over time."""

    min_replicas: int
    max_replicas: int
    behavior: Behavior | None
    replicas: int
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    up_events: list[tuple[float, int]] = field(default_factory=list)
    down_events: list[tuple[float, int]] = field(default_factory=list)

    def decide(self, now: float, desired: int) -> int:
        """Normalize a raw recommendation and apply it; returns the new replica count."""
        if self.behavior is None:
            new = self._legacy(now, desired)
        else:
            stabilized = self._stabilize(now, desired)
            new = self._rate_limit(now, stabilized)
        change = new - self.replicas
        if change > 0:
            self.up_events.append((now, change))
        elif change < 0:
            self.down_events.append((now, -change))
        self.replicas = new
        return new

    def _legacy(self, now: float, desired: int) -> int:
        """``normalizeDesiredReplicas``: 300 s down-stabilization, up limit max(2x, 4)."""
        cutoff = now - DEFAULT_DOWNSCALE_STABILIZATION_S
        self.recommendations = [(t, r) for t, r in self.recommendations if t > cutoff]
        self.recommendations.append((now, desired))
        stabilized = max(r for _, r in self.recommendations)
        up_limit = max(2 * self.replicas, 4)
        return max(self.min_replicas, min(stabilized, up_limit, self.max_replicas))

    def _stabilize(self, now: float, desired: int) -> int:
        """``stabilizeRecommendationWithBehaviors``."""
        assert self.behavior is not None
        up_cutoff = now - self.behavior.scale_up.stabilization_window_seconds
        down_cutoff = now - self.behavior.scale_down.stabilization_window_seconds
        up, down = desired, desired
        for timestamp, recommendation in self.recommendations:
            if timestamp > up_cutoff:
                up = min(recommendation, up)
            if timestamp > down_cutoff:
                down = max(recommendation, down)
        keep = max(
            self.behavior.scale_up.stabilization_window_seconds,
            self.behavior.scale_down.stabilization_window_seconds,
        )
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now - keep]
        self.recommendations.append((now, desired))
        recommendation = self.replicas
        recommendation = max(recommendation, up)
        return min(recommendation, down)

    @staticmethod
    def _changed_in(events: list[tuple[float, int]], now: float, period: float) -> int:
        """``getReplicasChangePerPeriod``."""
        return sum(change for timestamp, change in events if timestamp > now - period)

    def _limit(self, now: float, rules: Rules, *, up: bool) -> int:
        """``calculateScaleUpLimitWithScalingRules`` / ``calculateScaleDownLimitWithBehaviors``."""
        pick = max if rules.select_policy == "Max" else min
        if not up:
            # Scale-down picks the most permissive (lowest) limit for Max.
            pick = min if rules.select_policy == "Max" else max
        result: int | None = None
        for policy in rules.policies:
            added = self._changed_in(self.up_events, now, policy.period_seconds)
            deleted = self._changed_in(self.down_events, now, policy.period_seconds)
            start = self.replicas - added + deleted if up else self.replicas + deleted - added
            if policy.type == "Pods":
                proposed = start + policy.value if up else start - policy.value
            elif up:
                proposed = math.ceil(start * (1 + policy.value / 100))
            else:
                proposed = int(start * (1 - policy.value / 100))  # Go's int32() truncates
            result = proposed if result is None else pick(result, proposed)
        assert result is not None
        return result

    def _rate_limit(self, now: float, desired: int) -> int:
        """``convertDesiredReplicasWithBehaviorRate``."""
        assert self.behavior is not None
        if desired > self.replicas:
            limit = max(self._limit(now, self.behavior.scale_up, up=True), self.replicas)
            return min(desired, min(self.max_replicas, limit))
        if desired < self.replicas:
            limit = min(self._limit(now, self.behavior.scale_down, up=False), self.replicas)
            return max(desired, max(self.min_replicas, limit))
        return max(self.min_replicas, min(desired, self.max_replicas))


@dataclass(frozen=True)
class Pod:
    """A bot pod: when it was created and when it became Ready."""

    created_at: float
    ready_at: float


@dataclass(frozen=True)
class Workload:
    """How the bot turns load into the autoscaler's signal (the capacity assumptions)."""

    startup_s: float  # pod creation → Ready
    metric_delay_s: float  # load → sample the HPA sees (metrics-server or Prometheus + KEDA)
    cpu_ms_per_update: float  # CPU per update (from `make capacity`)
    cpu_request_m: float
    cpu_limit_m: float
    latency_s: float  # handler latency at the target load (Little's law for in-flight)


def simulate(
    autoscaler: Autoscaler,
    workload: Workload,
    rate: Any,
    *,
    mode: str,
    target: float,
    duration_s: float,
    phase_s: float = 0.0,
) -> list[tuple[float, int, int]]:
    """Run the sync loop; returns (time, desired replicas, ready replicas) after each sync.

    Args:
        autoscaler: The HPA's normalization state (its ``replicas`` are the starting pods).
        workload: The capacity assumptions.
        rate: ``rate(t)`` in updates per second offered at time ``t``.
        mode: ``"cpu"`` (Resource Utilization, target in %) or ``"inflight"`` (External
            AverageValue per pod, target in in-flight updates).
        target: The metric target.
        duration_s: How long to simulate.
        phase_s: When the first sync happens (0 <= phase < 15).
    """
    pods = [Pod(-1e9, -1e9) for _ in range(autoscaler.replicas)]
    timeline = []
    now = phase_s
    while now <= duration_s:
        sample_time = now - workload.metric_delay_s
        ready_then = [p for p in pods if p.ready_at <= sample_time]
        if mode == "cpu":
            per_pod = rate(sample_time) / max(len(ready_then), 1)
            utilization = (
                min(per_pod * workload.cpu_ms_per_update, workload.cpu_limit_m)
                / workload.cpu_request_m
                * 100
            )
            # A pod whose sample predates its readiness (or that is not ready) is "unready".
            unready = len(pods) - len(ready_then)
            desired = resource_utilization_replicas(
                autoscaler.replicas, [utilization] * len(ready_then), unready, target
            )
        else:
            in_flight = rate(sample_time) * workload.latency_s
            desired = external_average_value_replicas(autoscaler.replicas, in_flight, target)
        new = autoscaler.decide(now, desired)
        if new > len(pods):
            pods += [Pod(now, now + workload.startup_s) for _ in range(new - len(pods))]
        elif new < len(pods):
            # The ReplicaSet removes the youngest (not-yet-ready first) pods.
            pods = sorted(pods, key=lambda p: p.created_at)[:new]
        timeline.append((now, new, sum(p.ready_at <= now for p in pods)))
        now += SYNC_PERIOD_S
    return timeline


def time_to_ready(
    timeline: list[tuple[float, int, int]], replicas: int, startup_s: float, *, initial: int
) -> float | None:
    """When ``replicas`` pods were Ready: the first sync that asked for them, plus startup
    (0 when the ``initial`` replicas were already enough)."""
    if initial >= replicas:
        return 0.0
    for time, desired, _ in timeline:
        if desired >= replicas:
            return time + startup_s
    return None
