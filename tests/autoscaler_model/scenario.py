"""Upstream's test fixtures, rebuilt for the model.

``calc_scenario`` is ``calcScenario`` + ``buildFakePod`` + the fake metrics clients of
kubernetes ``pkg/controller/podautoscaler/replica_calculator_test.go``; ``horizontal_scenario``
is ``horizontalScenario`` + ``newFakeHorizontalClient`` of ``horizontal_test.go``. The upstream
revision is the one named in ``infra/autoscaler/README.md``. Go's ``time.Now()`` is ``NOW``;
Go's zero ``metav1.Time`` (year 1) is ``ZERO``, long before any initialization period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from autoscaler_model import (
    ControllerConfig,
    Pod,
    PodMetric,
    PodPhase,
    PodUsage,
    PolicyType,
    ReplicaCalculator,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
    StaticMetrics,
    Tolerances,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

NOW = 1_000_000.0
ZERO = 0.0
MINUTE = 60.0

# replica_calculator.go defaultTesting* constants.
TESTING_TOLERANCE = 0.1
TESTING_CALCULATOR = ReplicaCalculator(
    cpu_initialization_period=2 * MINUTE,
    delay_of_initial_readiness_status=10.0,
    pod_level_resources=False,
)
DEFAULT_TOLERANCES = Tolerances(TESTING_TOLERANCE, TESTING_TOLERANCE)

# horizontal_test.go: NewHorizontalController(... 5*time.Minute, defaultTestingTolerance,
# defaultTestingCPUInitializationPeriod, defaultTestingDelayOfInitialReadinessStatus) and
# init() { scaleUpLimitFactor = 8 }.
TESTING_CONTROLLER = ControllerConfig(
    tolerance=TESTING_TOLERANCE,
    downscale_stabilization_window=300,
    cpu_initialization_period=2 * MINUTE,
    delay_of_initial_readiness_status=10.0,
    pod_level_resources=False,
    scale_up_limit_factor=8.0,
)

NUM_CONTAINERS_PER_POD = 2


def time_3_mins_ago() -> float:
    """``time3MinsAgo()`` / ``coolCPUCreationTime()``."""
    return NOW - 3 * MINUTE


def time_now() -> float:
    """``timeNow()`` / ``hotCPUCreationTime()``."""
    return NOW


def pod_metric_levels(*levels: int) -> list[list[int]]:
    """``makePodMetricLevels``: every container of pod i reports ``levels[i]``."""
    return [[level] * NUM_CONTAINERS_PER_POD for level in levels]


@dataclass(frozen=True)
class CalcScenario:
    """``calcScenario`` (``resource`` or ``metric`` levels, per-pod state)."""

    current_replicas: int
    requests: Sequence[int] = ()
    levels: Sequence[Sequence[int]] = ()
    pod_names: Sequence[str] = ()
    metric_levels: Sequence[int] = ()
    timestamp: float = ZERO
    readiness: Sequence[bool] | None = None
    start_time: Sequence[float] | None = None
    phase: Sequence[PodPhase] | None = None
    deleted: Sequence[bool] | None = None

    def pods(self) -> list[Pod]:
        """``newFakePodClient`` + ``buildFakePod``."""
        count = self.current_replicas
        if self.phase is not None and len(self.phase) > count:
            count = len(self.phase)
        pods = []
        for i in range(count):
            requests = {}
            if i < len(self.requests):
                requests = {c: {"cpu": self.requests[i]} for c in ("container1", "container2")}
            else:
                requests = {"container1": {}, "container2": {}}
            pods.append(
                Pod(
                    name=f"test-pod-{i}",
                    phase=self.phase[i] if self.phase is not None else PodPhase.RUNNING,
                    ready=self.readiness[i]
                    if self.readiness is not None and i < len(self.readiness)
                    else True,
                    ready_transition_time=ZERO,
                    start_time=self.start_time[i] if self.start_time is not None else ZERO,
                    deleted=self.deleted is not None and self.deleted[i],
                    requests=requests,
                )
            )
        return pods

    def usage(self) -> list[PodUsage]:
        """``newFakeResourceMetricsClient``: container ``j+1`` of pod i reports ``levels[i][j]``.

        Upstream always makes two container entries; one left unfilled has no name and no
        usage, which ``getPodMetrics`` treats as a gap.
        """
        usage = []
        for i, levels in enumerate(self.levels):
            containers: dict[str, int | None] = {
                f"container{j + 1}": v for j, v in enumerate(levels)
            }
            if len(levels) < NUM_CONTAINERS_PER_POD:
                containers[""] = None
            usage.append(
                PodUsage(
                    pod=self.pod_names[i] if i < len(self.pod_names) else f"test-pod-{i}",
                    containers=containers,
                    timestamp=self.timestamp,
                    window=MINUTE,
                )
            )
        return usage

    def custom_metrics(self) -> dict[str, PodMetric]:
        """``newFakeCustomMetricsClient``'s multiple-pod answer."""
        return {
            f"test-pod-{i}": PodMetric(level, self.timestamp, MINUTE)
            for i, level in enumerate(self.metric_levels)
        }


@dataclass(frozen=True)
class HorizontalScenario:
    """``horizontalScenario`` and ``newFakeHorizontalClient``'s pods and metrics."""

    status_replicas: int
    levels: Sequence[int] = ()
    cpu_requests: Sequence[int] | None = None
    readiness: Sequence[bool] | None = None
    start_time: Sequence[float] | None = None
    phase: Sequence[PodPhase] | None = None
    deleted: Sequence[bool] | None = None
    failing: frozenset[str] = frozenset()

    def metrics(self) -> StaticMetrics:
        """The fake clients: pods, metrics-server (level/2 per container), custom, external."""
        count = len(self.cpu_requests) if self.cpu_requests is not None else self.status_replicas
        pods = []
        for i in range(count):
            request = self.cpu_requests[i] if self.cpu_requests is not None else 1000
            start = self.start_time[i] if self.start_time is not None else ZERO
            pods.append(
                Pod(
                    name=f"test-pod-{i}",
                    phase=self.phase[i] if self.phase is not None else PodPhase.RUNNING,
                    ready=self.readiness[i] if self.readiness is not None else True,
                    ready_transition_time=start,
                    start_time=start,
                    deleted=self.deleted is not None and self.deleted[i],
                    requests={
                        "container1": {"cpu": request // 2},
                        "container2": {"cpu": request // 2},
                    },
                )
            )
        usage = [
            PodUsage(
                f"test-pod-{i}",
                {"container1": level // 2, "container2": level // 2},
                timestamp=NOW,
                window=MINUTE,
            )
            for i, level in enumerate(self.levels)
        ]
        return StaticMetrics(
            pod_list=pods,
            resources={"cpu": usage},
            pod_metrics={
                "qps": {
                    f"test-pod-{i}": PodMetric(level, NOW, MINUTE)
                    for i, level in enumerate(self.levels)
                }
            },
            objects={"qps": self.levels[0]} if self.levels else {},
            externals={"qps": list(self.levels)},
            failing=self.failing,
        )


def generate_scaling_rules(
    pods: int, pods_period: int, percent: int, percent_period: int, window: int
) -> ScalingRules:
    """``generateScalingRules``."""
    policies = []
    if pods:
        policies.append(ScalingPolicy(PolicyType.PODS, pods, pods_period))
    if percent:
        policies.append(ScalingPolicy(PolicyType.PERCENT, percent, percent_period))
    return ScalingRules(window, SelectPolicy.MAX, tuple(policies))


def uniform_events(raw: list[int], period_seconds: int) -> list[ScaleEvent]:
    """``generateEventsUniformDistribution``: centred in equal segments (whole seconds)."""
    segment = period_seconds / len(raw)
    return [
        ScaleEvent(change, NOW - int(period_seconds - segment * (idx + 1) + segment / 2))
        for idx, change in enumerate(raw)
    ]
