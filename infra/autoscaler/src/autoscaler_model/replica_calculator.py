"""The replica count one metric asks for: ``replica_calculator.go`` and ``metrics/utilization.go``.

Values are milli-units (``Quantity.MilliValue()``), as upstream computes them; a utilization
target is a percentage of the pods' requests. Each method returns the proposed replica count
and the usage upstream reports in the HPA's ``status.currentMetrics``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autoscaler_model import _goint
from autoscaler_model.errors import MetricsUnavailableError, ReplicaCalculationError
from autoscaler_model.pod import (
    Pod,
    PodGroups,
    PodMetric,
    PodUsage,
    calculate_requests,
    container_metrics,
    group_pods,
    pod_metrics,
    ready_pods_count,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from autoscaler_model.tolerance import Tolerances

# kube-controller-manager's defaults (--horizontal-pod-autoscaler-cpu-initialization-period,
# --horizontal-pod-autoscaler-initial-readiness-delay).
DEFAULT_CPU_INITIALIZATION_PERIOD_S = 300.0
DEFAULT_DELAY_OF_INITIAL_READINESS_STATUS_S = 30.0


@dataclass(frozen=True)
class ResourceProposal:
    """``GetResourceReplicas``'s result: replicas, utilization (% of request), raw average."""

    replicas: int
    utilization: int
    raw_average: int


@dataclass(frozen=True)
class MetricProposal:
    """The other calculators' result: replicas and the usage reported in the status."""

    replicas: int
    usage: int


def resource_utilization_ratio(
    metrics: Mapping[str, PodMetric], requests: Mapping[str, int], target_utilization: int
) -> tuple[float, int, int]:
    """``GetResourceUtilizationRatio``: (usage ratio, utilization %, raw average value).

    Samples of pods without a known request are extraneous and skipped; the utilization is the
    truncated integer percentage, held to the int32 range.
    """
    metrics_total = 0
    requests_total = 0
    entries = 0
    for pod, metric in metrics.items():
        if pod not in requests:
            continue
        metrics_total += metric.value
        requests_total += requests[pod]
        entries += 1
    if requests_total == 0:
        raise ReplicaCalculationError("no metrics returned matched known pods")
    utilization = _goint.clamp_int32(_goint.quo(metrics_total * 100, requests_total))
    return (
        _goint.fdiv(utilization, target_utilization),
        utilization,
        _goint.quo(metrics_total, entries),
    )


def metric_usage_ratio(metrics: Mapping[str, PodMetric], target_usage: int) -> tuple[float, int]:
    """``GetMetricUsageRatio``: (usage ratio, average usage) over every sample."""
    usage = _goint.quo(sum(m.value for m in metrics.values()), len(metrics))
    return _goint.fdiv(usage, target_usage), usage


def _sum_int64_capped(values: Sequence[int]) -> int:
    """``GetExternalMetricReplicas``'s sum: capped at MaxInt64 on a positive overflow."""
    total = 0
    for value in values:
        if value > 0 and total > _goint.MAX_INT64 - value:
            return _goint.MAX_INT64
        total += value
    return total


def _sum_int64_wrapped(values: Sequence[int]) -> int:
    """``GetExternalPerPodMetricReplicas``'s sum: MaxInt64 as soon as the int64 sum is negative."""
    total = 0
    for value in values:
        total = _goint.wrap_int64(total + value)
        if total < 0:
            return _goint.MAX_INT64
    return total


def _per_pod_usage(usage: int, status_replicas: int) -> int:
    """``getPerPodUsage``: the reported average, MaxInt64 on overflow and 0 for no replicas."""
    if float(usage) >= float(_goint.MAX_INT64):
        return _goint.MAX_INT64
    if status_replicas == 0:
        return 0
    return math.ceil(float(usage) / float(status_replicas))


def _per_pod_proposal(
    status_replicas: int, target_per_pod: int, tolerances: Tolerances, usage: int
) -> MetricProposal:
    """A total against a per-pod target: ``ceil(usage / target)`` outside the tolerance of
    ``usage / (target x status.replicas)``; the status reports the per-pod average."""
    replicas = status_replicas
    ratio = _goint.fdiv(float(usage), float(target_per_pod) * float(status_replicas))
    if not tolerances.is_within(ratio):
        replicas = _goint.saturate_int32(_goint.fdiv(float(usage), target_per_pod))
    return MetricProposal(replicas, _per_pod_usage(usage, status_replicas))


@dataclass(frozen=True)
class ReplicaCalculator:
    """``ReplicaCalculator``: the pod-readiness settings and the pod-level-requests feature."""

    cpu_initialization_period: float = DEFAULT_CPU_INITIALIZATION_PERIOD_S
    delay_of_initial_readiness_status: float = DEFAULT_DELAY_OF_INITIAL_READINESS_STATUS_S
    pod_level_resources: bool = True

    def resource_replicas(
        self,
        current_replicas: int,
        target_utilization: int,
        resource: str,
        tolerances: Tolerances,
        pods: Sequence[Pod],
        usage: Sequence[PodUsage],
        container: str,
        now: float,
    ) -> ResourceProposal:
        """``GetResourceReplicas``: a Resource/ContainerResource ``Utilization`` target."""
        metrics = self._resource_metrics(resource, usage, container)
        groups = self._group(metrics, pods, resource, now)
        requests = calculate_requests(
            pods, container, resource, pod_level_resources=self.pod_level_resources
        )
        ratio, utilization, raw = resource_utilization_ratio(metrics, requests, target_utilization)
        # On a scale-down a missing pod uses all of its request, or the target when the
        # target is above 100%.
        fallback = max(100, target_utilization)
        replicas = _rebalance(
            metrics,
            groups,
            ratio,
            current_replicas,
            tolerances,
            lambda m: resource_utilization_ratio(m, requests, target_utilization)[0],
            lambda name: _goint.quo(requests[name] * fallback, 100),
        )
        return ResourceProposal(replicas, utilization, raw)

    def raw_resource_replicas(
        self,
        current_replicas: int,
        target_usage: int,
        resource: str,
        tolerances: Tolerances,
        pods: Sequence[Pod],
        usage: Sequence[PodUsage],
        container: str,
        now: float,
    ) -> MetricProposal:
        """``GetRawResourceReplicas``: a Resource/ContainerResource ``AverageValue`` target."""
        metrics = self._resource_metrics(resource, usage, container)
        return self._plain_metric_replicas(
            metrics, current_replicas, target_usage, tolerances, pods, resource, now
        )

    def metric_replicas(
        self,
        current_replicas: int,
        target_usage: int,
        tolerances: Tolerances,
        pods: Sequence[Pod],
        metrics: Mapping[str, PodMetric],
        now: float,
    ) -> MetricProposal:
        """``GetMetricReplicas``: a Pods metric's ``AverageValue`` target."""
        if not metrics:
            raise MetricsUnavailableError("no metrics returned from custom metrics API")
        return self._plain_metric_replicas(
            dict(metrics), current_replicas, target_usage, tolerances, pods, "", now
        )

    def _plain_metric_replicas(
        self,
        metrics: dict[str, PodMetric],
        current_replicas: int,
        target_usage: int,
        tolerances: Tolerances,
        pods: Sequence[Pod],
        resource: str,
        now: float,
    ) -> MetricProposal:
        """``calcPlainMetricReplicas``: the same pod grouping with a missing pod at the target."""
        groups = self._group(metrics, pods, resource, now)
        ratio, usage = metric_usage_ratio(metrics, target_usage)
        replicas = _rebalance(
            metrics,
            groups,
            ratio,
            current_replicas,
            tolerances,
            lambda m: metric_usage_ratio(m, target_usage)[0],
            lambda _name: target_usage,
        )
        return MetricProposal(replicas, usage)

    def _group(
        self, metrics: dict[str, PodMetric], pods: Sequence[Pod], resource: str, now: float
    ) -> PodGroups:
        """``groupPods`` and ``removeMetricsForPods``: drop ignored and unready samples."""
        if not pods:
            raise ReplicaCalculationError(
                "no pods returned by selector while calculating replica count"
            )
        groups = group_pods(
            pods,
            metrics,
            resource,
            self.cpu_initialization_period,
            self.delay_of_initial_readiness_status,
            now,
        )
        for name in groups.ignored | groups.unready:
            metrics.pop(name, None)
        if not metrics:
            raise ReplicaCalculationError(
                "did not receive metrics for targeted pods (pods might be unready)"
            )
        return groups

    @staticmethod
    def object_metric_replicas(
        current_replicas: int,
        target_usage: int,
        tolerances: Tolerances,
        usage: int,
        pods: Sequence[Pod],
    ) -> MetricProposal:
        """``GetObjectMetricReplicas``: an Object metric's ``Value`` target."""
        ratio = _goint.fdiv(float(usage), float(target_usage))
        return MetricProposal(
            _usage_ratio_replica_count(current_replicas, ratio, tolerances, pods), usage
        )

    @staticmethod
    def object_per_pod_metric_replicas(
        status_replicas: int, target_average_usage: int, tolerances: Tolerances, usage: int
    ) -> MetricProposal:
        """``GetObjectPerPodMetricReplicas``: an Object metric's ``AverageValue`` target."""
        return _per_pod_proposal(status_replicas, target_average_usage, tolerances, usage)

    @staticmethod
    def external_metric_replicas(
        current_replicas: int,
        target_usage: int,
        tolerances: Tolerances,
        values: Sequence[int],
        pods: Sequence[Pod],
    ) -> MetricProposal:
        """``GetExternalMetricReplicas``: an External metric's ``Value`` target (series summed)."""
        if not values:
            raise MetricsUnavailableError("no metrics returned from external metrics API")
        usage = _sum_int64_capped(values)
        ratio = _goint.fdiv(float(usage), float(target_usage))
        return MetricProposal(
            _usage_ratio_replica_count(current_replicas, ratio, tolerances, pods), usage
        )

    @staticmethod
    def external_per_pod_metric_replicas(
        status_replicas: int,
        target_usage_per_pod: int,
        tolerances: Tolerances,
        values: Sequence[int],
    ) -> MetricProposal:
        """``GetExternalPerPodMetricReplicas``: an External ``AverageValue`` target (KEDA's)."""
        if not values:
            raise MetricsUnavailableError("no metrics returned from external metrics API")
        usage = _sum_int64_wrapped(values)
        return _per_pod_proposal(status_replicas, target_usage_per_pod, tolerances, usage)

    @staticmethod
    def _resource_metrics(
        resource: str, usage: Sequence[PodUsage], container: str
    ) -> dict[str, PodMetric]:
        """``GetResourceMetric``: per-pod (or one container's) usage from metrics-server."""
        if not usage:
            raise MetricsUnavailableError(
                f"unable to get metrics for resource {resource}: "
                "no metrics returned from resource metrics API"
            )
        return container_metrics(usage, container) if container else pod_metrics(usage)


def _rebalance(
    metrics: dict[str, PodMetric],
    groups: PodGroups,
    ratio: float,
    current_replicas: int,
    tolerances: Tolerances,
    ratio_of: Callable[[Mapping[str, PodMetric]], float],
    scale_down_fill: Callable[[str], int],
) -> int:
    """The replica count from the ratio, with missing and unready pods filled in.

    Without unready pods on a scale-up and without missing pods: ``ceil(ratio x ready)``
    outside the tolerance. Otherwise missing pods count as ``scale_down_fill`` on a scale-down
    and 0 on a scale-up, unready pods as 0 on a scale-up, and the recomputed ratio must stay
    outside the tolerance and on the same side (and so must the new count), else hold.
    """
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.is_within(ratio):
            return current_replicas
        return _goint.saturate_int32(ratio * groups.ready_count)
    if groups.missing:
        if ratio < 1.0:
            for name in groups.missing:
                metrics[name] = PodMetric(scale_down_fill(name))
        elif ratio > 1.0:
            for name in groups.missing:
                metrics[name] = PodMetric(0)
    if scale_up_with_unready:
        for name in groups.unready:
            metrics[name] = PodMetric(0)
    new_ratio = ratio_of(metrics)
    if _direction_flips(tolerances, ratio, new_ratio):
        return current_replicas
    new_replicas = _goint.saturate_int32(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
        new_ratio > 1.0 and new_replicas < current_replicas
    ):
        return current_replicas
    return new_replicas


def _direction_flips(tolerances: Tolerances, ratio: float, new_ratio: float) -> bool:
    """The recomputed ratio is within tolerance or points the other way: hold."""
    return (
        tolerances.is_within(new_ratio)
        or (ratio < 1.0 and new_ratio > 1.0)
        or (ratio > 1.0 and new_ratio < 1.0)
    )


def _usage_ratio_replica_count(
    current_replicas: int, ratio: float, tolerances: Tolerances, pods: Sequence[Pod]
) -> int:
    """``getUsageRatioReplicaCount``: from zero replicas, ``ceil(ratio)`` without tolerance."""
    if current_replicas == 0:
        return _goint.saturate_int32(ratio)
    if tolerances.is_within(ratio):
        return current_replicas
    if not pods:
        raise ReplicaCalculationError(
            "unable to calculate ready pods: "
            "no pods returned by selector while calculating replica count"
        )
    return _goint.saturate_int32(ratio * ready_pods_count(pods))
