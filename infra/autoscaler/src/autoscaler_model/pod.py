"""Pods as the HPA controller sees them, and how it groups them before it trusts a metric.

Transcribed from ``replica_calculator.go`` (``groupPods``, ``calculateRequests``,
``getReadyPodsCount``) and ``metrics/client.go`` (``getPodMetrics``, ``getContainerMetrics``).
Times are seconds on any one clock (the caller's ``now`` uses the same clock).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autoscaler_model.errors import ReplicaCalculationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

CPU = "cpu"

# The metrics-server window a custom metric gets when the adapter reports none
# (metrics/client.go metricServerDefaultMetricWindow).
DEFAULT_METRIC_WINDOW_S = 60.0


class PodPhase(enum.StrEnum):
    """``v1.PodPhase``."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Pod:
    """The fields of a pod the controller reads.

    ``ready`` is the Ready condition's status, ``None`` when the pod has no Ready condition;
    ``ready_transition_time`` is that condition's ``lastTransitionTime``. ``start_time`` is
    ``status.startTime`` (``None`` when unset). ``requests`` maps container name to resource
    name to its request in milli-units; ``sidecar_requests`` is the same for restartable init
    containers (``restartPolicy: Always``), which count toward the pod's requests;
    ``pod_requests`` is the pod-level ``spec.resources.requests`` (KEP-2837), if set.
    """

    name: str
    phase: PodPhase = PodPhase.RUNNING
    ready: bool | None = True
    ready_transition_time: float = 0.0
    start_time: float | None = 0.0
    deleted: bool = False
    requests: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    sidecar_requests: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    pod_requests: Mapping[str, int] | None = None

    @property
    def terminal(self) -> bool:
        """``podutil.IsPodTerminal``: Failed or Succeeded."""
        return self.phase in (PodPhase.FAILED, PodPhase.SUCCEEDED)

    @property
    def running_and_ready(self) -> bool:
        """Counted by ``getReadyPodsCount``: Running with the Ready condition True."""
        return self.phase is PodPhase.RUNNING and self.ready is True


@dataclass(frozen=True)
class PodMetric:
    """``metrics.PodMetric``: one pod's value (milli-units) and the sample's time and window."""

    value: int
    timestamp: float = 0.0
    window: float = DEFAULT_METRIC_WINDOW_S


@dataclass(frozen=True)
class PodUsage:
    """One ``PodMetrics`` item of the resource metrics API (metrics-server).

    ``containers`` maps each reported container to its usage of the resource in milli-units,
    or ``None`` when the container is reported without that resource.
    """

    pod: str
    containers: Mapping[str, int | None]
    timestamp: float = 0.0
    window: float = DEFAULT_METRIC_WINDOW_S


def pod_metrics(samples: Iterable[PodUsage]) -> dict[str, PodMetric]:
    """``getPodMetrics``: the sum over a pod's containers; a pod with a gap is left out."""
    result: dict[str, PodMetric] = {}
    for sample in samples:
        values = list(sample.containers.values())
        if not values or any(v is None for v in values):
            continue
        result[sample.pod] = PodMetric(
            sum(v for v in values if v is not None), sample.timestamp, sample.window
        )
    return result


def container_metrics(samples: Iterable[PodUsage], container: str) -> dict[str, PodMetric]:
    """``getContainerMetrics``: one container's usage; pods without it are left out."""
    result: dict[str, PodMetric] = {}
    for sample in samples:
        value = sample.containers.get(container)
        if value is not None:
            result[sample.pod] = PodMetric(value, sample.timestamp, sample.window)
    return result


@dataclass(frozen=True)
class PodGroups:
    """``groupPods``'s result: the ready count and the unready, missing and ignored names."""

    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


def group_pods(
    pods: Iterable[Pod],
    metrics: Mapping[str, PodMetric],
    resource: str,
    cpu_initialization_period: float,
    delay_of_initial_readiness_status: float,
    now: float,
) -> PodGroups:
    """``groupPods``: which pods' samples count, and which are unready, missing or ignored.

    Deleted and terminal pods are ignored; Pending pods are unready; a pod without a sample is
    missing. For CPU only, a pod is also unready when it has no Ready condition or start time;
    during its CPU initialization period when it is not Ready or its sample does not cover a
    full window since the last readiness transition; after it, when it is not Ready and has
    never been Ready (its readiness changed within the initial readiness delay of its start).
    """
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        if pod.deleted or pod.terminal:
            ignored.add(pod.name)
            continue
        if pod.phase is PodPhase.PENDING:
            unready.add(pod.name)
            continue
        metric = metrics.get(pod.name)
        if metric is None:
            missing.add(pod.name)
            continue
        if resource == CPU and _cpu_sample_unready(
            pod, metric, cpu_initialization_period, delay_of_initial_readiness_status, now
        ):
            unready.add(pod.name)
            continue
        ready += 1
    return PodGroups(ready, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_sample_unready(
    pod: Pod,
    metric: PodMetric,
    cpu_initialization_period: float,
    delay_of_initial_readiness_status: float,
    now: float,
) -> bool:
    if pod.ready is None or pod.start_time is None:
        return True
    if pod.start_time + cpu_initialization_period > now:
        return pod.ready is False or metric.timestamp < pod.ready_transition_time + metric.window
    return (
        pod.ready is False
        and pod.start_time + delay_of_initial_readiness_status > pod.ready_transition_time
    )


def ready_pods_count(pods: Iterable[Pod]) -> int:
    """``getReadyPodsCount`` (the caller checks that the selector matched any pod)."""
    return sum(1 for pod in pods if pod.running_and_ready)


def calculate_requests(
    pods: Iterable[Pod], container: str, resource: str, *, pod_level_resources: bool
) -> dict[str, int]:
    """``calculateRequests``: each pod's request of ``resource`` in milli-units.

    A named container takes precedence; otherwise pod-level requests when the feature is on
    and the pod sets them; otherwise the sum over containers and restartable init containers.
    Any container without a request for the resource is an error (no utilization without it).
    """
    result: dict[str, int] = {}
    for pod in pods:
        if pod_level_resources and pod.pod_requests is not None and not container:
            if resource not in pod.pod_requests:
                raise ReplicaCalculationError(
                    f"missing pod-level request for {resource} in Pod {pod.name}"
                )
            result[pod.name] = pod.pod_requests[resource]
            continue
        result[pod.name] = _container_requests(pod, container, resource)
    return result


def _container_requests(pod: Pod, container: str, resource: str) -> int:
    total = 0
    for name, requests in [*pod.requests.items(), *pod.sidecar_requests.items()]:
        if container and container != name:
            continue
        if resource not in requests:
            raise ReplicaCalculationError(
                f"missing request for {resource} in container {name} of Pod {pod.name}"
            )
        total += requests[resource]
        if container == name:
            return total
    if container:
        raise ReplicaCalculationError(f"container {container} not found in Pod {pod.name}")
    return total
