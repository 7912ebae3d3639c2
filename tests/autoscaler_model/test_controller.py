"""Upstream's whole-sync cases: ``reconcileAutoscaler`` on fake pods and metrics.

Source: kubernetes ``pkg/controller/podautoscaler/horizontal_test.go`` (revision in
``infra/autoscaler/README.md``): ``TestScaleUpCPU``, ``TestScaleDownCPU``, ``TestScaleUpCM``,
``TestScaleUpCMObject``, ``TestScaleUpCMExternal``, ``TestScaleDownCM``, ``TestTolerance``,
``TestScaleRCImmediately``, ``TestScaleUpOneMetricInvalid``, ``TestScaleUpOneMetricEmpty``,
``TestNoScaleDownOneMetricEmpty``, ``TestScaleUpFromZeroOneMetricInvalid``,
``TestScaleUpFromZeroWithoutCondition``, ``TestScaleUpFromZeroWhenMinReplicasIncreased``,
``TestScaledToZeroConditionHandledOnNormalRescale``, ``TestManualScaleToZeroDisablesHPA``,
``TestScaleDownStabilizeInitialSize``, ``TestHPARescaleWithSuccessfulConflictRetry``,
``TestReconciliationDurationIsRecordedOnError``,
``TestReconciliationsTotalCountMultipleReconciliations``, ``TestConfigurableTolerance``,
``TestReplicaLimits``, ``TestMetricsEdgeCases``, ``TestEventCreated``, ``TestEventNotCreated``,
``TestCPUScalingEdgeCases``, ``TestUpscaleCap``, ``TestConditionFailedGetMetrics``,
``TestInvalidMetricSourceType``, ``TestScaleTimingBehavior``,
``TestComputedToleranceAlgImplementation``. Ids are upstream's test/case names. Not
transcribed: the selector, get-scale and update-scale failure cases (the API machinery is not
modelled).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import pytest

from autoscaler_model import (
    Behavior,
    HorizontalController,
    HPASpec,
    MetricSpec,
    MetricTarget,
    ObjectReference,
    Pod,
    PodPhase,
    PodUsage,
    Scale,
    ScalingRules,
    StaticMetrics,
)
from autoscaler_model.normalization import Recommendation

from .scenario import (
    MINUTE,
    NOW,
    TESTING_CONTROLLER,
    HorizontalScenario,
    generate_scaling_rules,
    time_3_mins_ago,
    time_now,
)

T, F = True, False
RUN, FAIL = PodPhase.RUNNING, PodPhase.FAILED
DEPLOYMENT = ObjectReference("Deployment", "some-deployment", "apps/v1")

STATUS_OK = {
    "AbleToScale": (True, "SucceededRescale"),
    "ScalingActive": (True, "ValidMetricFound"),
    "ScalingLimited": (False, "DesiredWithinRange"),
}
DISABLED = {
    "AbleToScale": (True, "SucceededGetScale"),
    "ScalingActive": (False, "ScalingDisabled"),
}


def status_ok(**overrides: tuple[bool, str]) -> dict[str, tuple[bool, str]]:
    """``statusOkWithOverrides``."""
    return {**STATUS_OK, **overrides}


def cpu(target: int) -> MetricSpec:
    return MetricSpec.resource("cpu", MetricTarget(average_utilization=target))


def pods_qps(average: int) -> MetricSpec:
    return MetricSpec.pods("qps", MetricTarget(average_value=average))


def object_qps(value: int | None = None, average: int | None = None) -> MetricSpec:
    return MetricSpec.object("qps", DEPLOYMENT, MetricTarget(value=value, average_value=average))


def external_qps(value: int | None = None, average: int | None = None) -> MetricSpec:
    return MetricSpec.external("qps", MetricTarget(value=value, average_value=average), selector={})


CHEDDAR = MetricSpec("CheddarCheese", "", MetricTarget())
# buildHPA: an HPA with no metric gets a CPU resource metric without a target.
NO_TARGET_CPU = MetricSpec.resource("cpu", MetricTarget())


@dataclass(frozen=True)
class SyncCase:
    name: str
    minimum: int
    maximum: int
    spec_replicas: int
    metrics: tuple[MetricSpec, ...]
    fixture: HorizontalScenario
    expected: int
    rescale: bool | None = None
    conditions: dict[str, tuple[bool, str]] | None = None
    recommendations: list[Recommendation] | None = None
    initial_conditions: dict[str, tuple[bool, str]] = field(default_factory=dict)
    scale_to_zero: bool = False
    error: bool = False
    up_rules: ScalingRules | None = None
    down_rules: ScalingRules | None = None
    configurable_tolerance: bool = True


def scenario(
    status: int, levels: list[int], requests: int | None = None, **kw: object
) -> HorizontalScenario:
    reqs = None if requests is None else [1000] * requests
    return HorizontalScenario(status, levels, reqs, **kw)  # type: ignore[arg-type]


ONE_K = 1000
CASES = [
    # TestScaleUpCPU
    SyncCase(
        "TestScaleUpCPU/scale up", 2, 6, 3, (cpu(30),), scenario(3, [300, 500, 700], 3), 5, True
    ),
    SyncCase(
        "TestScaleUpCPU/scale up with unready pods results in less scale", 2, 6, 3, (cpu(30),),
        scenario(3, [300, 500, 700], 3, readiness=[F, T, T]), 4, True,
    ),
    SyncCase(
        "TestScaleUpCPU/scale up with hot cpu pods results in less scale", 2, 6, 3, (cpu(30),),
        scenario(
            3, [300, 500, 700], 3, start_time=[time_now(), time_3_mins_ago(), time_3_mins_ago()]
        ),
        4, True,
    ),
    SyncCase(
        "TestScaleUpCPU/scale up ignores failed pods", 2, 6, 2, (cpu(30),),
        scenario(2, [500, 700], 4, readiness=[T, T, F, F], phase=[RUN, RUN, FAIL, FAIL]), 4, True,
    ),
    SyncCase(
        "TestScaleUpCPU/scale up ignores deletion pods", 2, 6, 2, (cpu(30),),
        scenario(2, [500, 700], 4, readiness=[T, T, F, F], phase=[RUN] * 4, deleted=[F, F, T, T]),
        4, True,
    ),
    SyncCase(
        "TestScaleUpCPU/scale up deployment", 2, 6, 3, (cpu(30),), scenario(3, [300, 500, 700], 3),
        5, True,
    ),
    SyncCase(
        "TestScaleUpCPU/no scale up when all unready pods bring utilization within target",
        2, 6, 3, (cpu(30),), scenario(3, [400, 500, 700], 3, readiness=[T, F, F]), 3, False,
    ),
    # TestScaleDownCPU
    SyncCase(
        "TestScaleDownCPU/scale down", 2, 6, 5, (cpu(50),),
        scenario(5, [100, 300, 500, 250, 250], 5), 3, True, recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCPU/scale down includes unready pods", 2, 6, 5, (cpu(50),),
        scenario(5, [100, 300, 500, 250, 250], 5, readiness=[T, T, T, F, F]), 2, True,
        recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCPU/scale down ignores hot cpu pods", 2, 6, 5, (cpu(50),),
        scenario(
            5, [100, 300, 500, 250, 250], 5, start_time=[time_3_mins_ago()] * 3 + [time_now()] * 2
        ),
        2, True, recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCPU/scale down ignores failed pods", 2, 6, 5, (cpu(50),),
        scenario(
            5, [100, 300, 500, 250, 250], 7, readiness=[T] * 5 + [F, F],
            phase=[RUN] * 5 + [FAIL] * 2,
        ),
        3, True, recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCPU/scale down ignores deletion pods", 2, 6, 5, (cpu(50),),
        scenario(
            5, [100, 300, 500, 250, 250], 7, readiness=[T] * 5 + [F, F], phase=[RUN] * 7,
            deleted=[F] * 5 + [T, T],
        ),
        3, True, recommendations=[],
    ),
    # TestScaleUpCM
    SyncCase(
        "TestScaleUpCM/scale up custom metric", 2, 6, 3, (pods_qps(15 * ONE_K),),
        scenario(3, [20000, 10000, 30000], 3), 4, True,
    ),
    SyncCase(
        "TestScaleUpCM/unready and hot cpu pods do not reduce scale for custom metric",
        2, 6, 3, (pods_qps(15 * ONE_K),),
        scenario(
            3, [50000, 10000, 30000], 3, readiness=[T, T, F],
            start_time=[time_3_mins_ago(), time_3_mins_ago(), time_now()],
        ),
        6, True,
    ),
    SyncCase(
        "TestScaleUpCM/unready and hot cpu pods scale to max with scaling limited condition",
        2, 6, 3, (pods_qps(15 * ONE_K),),
        scenario(
            3, [50000, 15000, 30000], 3, readiness=[F, T, F],
            start_time=[time_now(), time_3_mins_ago(), time_now()],
        ),
        6, True, status_ok(ScalingLimited=(True, "TooManyReplicas")),
    ),
    # TestScaleUpCMObject
    SyncCase(
        "TestScaleUpCMObject/scale up object metric with value target", 2, 6, 3,
        (object_qps(value=15 * ONE_K),), scenario(3, [20000]), 4, True,
    ),
    SyncCase(
        "TestScaleUpCMObject/scale up from zero with feature gate enabled", 0, 6, 0,
        (object_qps(value=15 * ONE_K),), scenario(0, [20000]), 2, True,
        {"ScaledToZero": (False, "NotScaledToZero"), **STATUS_OK},
        initial_conditions={"ScaledToZero": (True, "ScaledToZero")}, scale_to_zero=True,
    ),
    SyncCase(
        "TestScaleUpCMObject/scale up from zero with feature gate disabled", 0, 6, 0,
        (object_qps(value=15 * ONE_K),), scenario(0, [20000]), 0, False, DISABLED,
        initial_conditions={"ScaledToZero": (True, "ScaledToZero")},
    ),
    SyncCase(
        "TestScaleUpCMObject/scale up from zero ignores tolerance with feature gate enabled",
        0, 6, 0, (object_qps(value=ONE_K),), scenario(0, [1000]), 1, True,
        {"ScaledToZero": (False, "NotScaledToZero"), **STATUS_OK},
        initial_conditions={"ScaledToZero": (True, "ScaledToZero")}, scale_to_zero=True,
    ),
    SyncCase(
        "TestScaleUpCMObject/scale up from zero ignores tolerance with feature gate disabled",
        0, 6, 0, (object_qps(value=ONE_K),), scenario(0, [1000]), 0, False, DISABLED,
        initial_conditions={"ScaledToZero": (True, "ScaledToZero")},
    ),
    SyncCase(
        "TestScaleUpCMObject/scale up per-pod object metric with average value target", 2, 6, 3,
        (object_qps(average=10 * ONE_K),), scenario(3, [40000]), 4, True,
    ),
    # TestScaleUpCMExternal
    SyncCase(
        "TestScaleUpCMExternal/scale up external metric with value target", 2, 6, 3,
        (external_qps(value=6666),), scenario(3, [8600]), 4, True,
    ),
    SyncCase(
        "TestScaleUpCMExternal/scale up external metric with per-pod average value target",
        2, 6, 3, (external_qps(average=2222),), scenario(3, [8600]), 4, True,
    ),
    # TestScaleDownCM
    SyncCase(
        "TestScaleDownCM/scale down pods metric", 2, 6, 5, (pods_qps(20 * ONE_K),),
        scenario(5, [12000] * 5, 5), 3, True, recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCM/scale down object metric with value target", 2, 6, 5,
        (object_qps(value=20 * ONE_K),), scenario(5, [12000], 5), 3, True, recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCM/scale down to zero object metric with feature gate enabled", 0, 6, 5,
        (object_qps(value=20 * ONE_K),), scenario(5, [0], 5), 0, True,
        status_ok(ScaledToZero=(True, "ScaledToZero")), recommendations=[], scale_to_zero=True,
    ),
    SyncCase(
        "TestScaleDownCM/scale down to zero object metric with feature gate disabled", 0, 6, 5,
        (object_qps(value=20 * ONE_K),), scenario(5, [0], 5), 0, True, status_ok(),
        recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCM/scale down per-pod object metric with average value target", 2, 6, 5,
        (object_qps(average=20 * ONE_K),), scenario(5, [60000], 5), 3, True, recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCM/scale down external metric with value target", 2, 6, 5,
        (external_qps(value=14400),), scenario(5, [8600]), 3, True, recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCM/scale down to zero external metric with feature gate enabled", 0, 6, 5,
        (external_qps(value=14400),), scenario(5, [0]), 0, True,
        status_ok(ScaledToZero=(True, "ScaledToZero")), recommendations=[], scale_to_zero=True,
    ),
    SyncCase(
        "TestScaleDownCM/scale down to zero external metric with feature gate disabled", 0, 6, 5,
        (external_qps(value=14400),), scenario(5, [0]), 0, True, status_ok(), recommendations=[],
    ),
    SyncCase(
        "TestScaleDownCM/scale down per-pod external metric with average value target", 2, 6, 5,
        (external_qps(average=3000),), scenario(5, [8600]), 3, True, recommendations=[],
    ),
    # TestTolerance
    SyncCase(
        "TestTolerance/CPU resource metric within tolerance", 1, 5, 3, (cpu(100),),
        HorizontalScenario(3, [1010, 1030, 1020], [900, 1000, 1100]), 3, False,
        status_ok(AbleToScale=(True, "ReadyForNewScale")),
    ),
    SyncCase(
        "TestTolerance/pods metric within tolerance", 1, 5, 3, (pods_qps(20 * ONE_K),),
        HorizontalScenario(3, [20000, 20001, 21000], [900, 1000, 1100]), 3, False,
        status_ok(AbleToScale=(True, "ReadyForNewScale")),
    ),
    SyncCase(
        "TestTolerance/object metric with value target within tolerance", 1, 5, 3,
        (object_qps(value=20 * ONE_K),), HorizontalScenario(3, [20050], [900, 1000, 1100]), 3,
        False, status_ok(AbleToScale=(True, "ReadyForNewScale")),
    ),
    SyncCase(
        "TestTolerance/external metric with value target within tolerance", 2, 6, 4,
        (external_qps(value=8666),), scenario(4, [8600]), 4, False,
        status_ok(AbleToScale=(True, "ReadyForNewScale")),
    ),
    # TestScaleRCImmediately
    SyncCase(
        "TestScaleRCImmediately/scale up to min when below min replicas", 2, 6, 1,
        (NO_TARGET_CPU,), scenario(1, [0, 0, 0, 0], 4), 2, True,
        {"AbleToScale": (True, "SucceededRescale")},
    ),
    SyncCase(
        "TestScaleRCImmediately/scale down to max when above max replicas", 2, 5, 6, (cpu(50),),
        HorizontalScenario(6, [8000, 9500, 1000], [900, 1000, 1100]), 5, True,
        {"AbleToScale": (True, "SucceededRescale")},
    ),
    # Single-case tests
    SyncCase(
        "TestScaleUpOneMetricInvalid", 2, 6, 3, (cpu(30), CHEDDAR),
        scenario(3, [300, 400, 500], 3), 4, True, STATUS_OK, error=True,
    ),
    SyncCase(
        "TestScaleUpOneMetricEmpty", 2, 6, 3, (cpu(30), external_qps(value=100)),
        scenario(3, [300, 400, 500], 3, failing=frozenset({"qps"})), 4, True, STATUS_OK,
        error=True,
    ),
    SyncCase(
        "TestNoScaleDownOneMetricEmpty", 2, 6, 5, (cpu(50), external_qps(value=1000)),
        scenario(5, [100, 300, 500, 250, 250], 5, failing=frozenset({"qps"})), 5, False,
        {
            "AbleToScale": (True, "SucceededGetScale"),
            "ScalingActive": (False, "FailedGetExternalMetric"),
        },
        recommendations=[], error=True,
    ),
    SyncCase(
        "TestScaleDownStabilizeInitialSize", 2, 6, 5, (cpu(50),),
        scenario(5, [100, 300, 500, 250, 250], 5), 5, False,
        status_ok(AbleToScale=(True, "ScaleDownStabilized")),
    ),
    SyncCase(
        "TestHPARescaleWithSuccessfulConflictRetry", 2, 6, 3, (cpu(50),),
        scenario(3, [600, 700, 800], 3), 5, True, STATUS_OK,
    ),
    SyncCase(
        "TestReconciliationDurationIsRecordedOnError", 2, 6, 4, (cpu(100),), scenario(4, [], 4),
        4, False,
        {
            "AbleToScale": (True, "SucceededGetScale"),
            "ScalingActive": (False, "FailedGetResourceMetric"),
        },
        error=True,
    ),
    SyncCase(
        "TestReconciliationsTotalCountMultipleReconciliations", 1, 5, 3, (cpu(100),),
        HorizontalScenario(3, [1010, 1030, 1020], [900, 1000, 1100]), 3, False,
        status_ok(AbleToScale=(True, "ReadyForNewScale")),
    ),
]  # fmt: skip

MIXED = [900, 1000, 1100]
TENTH = [100, 100, 100]
READY = status_ok(AbleToScale=(True, "ReadyForNewScale"))
MORE_CASES = [
    # TestConfigurableTolerance
    SyncCase(
        "TestConfigurableTolerance/Scaling up because of a 1% configurable tolerance", 1, 5, 3,
        (cpu(100),), HorizontalScenario(3, [1010, 1030, 1020], MIXED), 4, True, STATUS_OK,
        up_rules=ScalingRules(tolerance=0.01),
    ),
    SyncCase(
        "TestConfigurableTolerance/No scale-down because of a 90% configurable tolerance",
        1, 5, 3, (cpu(100),), scenario(3, [300, 300, 300], 3), 3, False, READY,
        down_rules=ScalingRules(tolerance=0.9),
    ),
    SyncCase(
        "TestConfigurableTolerance/No scaling because of the large default tolerance", 1, 5, 3,
        (cpu(100),), HorizontalScenario(3, [1010, 1030, 1020], MIXED), 3, False, READY,
    ),
    SyncCase(
        "TestConfigurableTolerance/No scaling because the configurable tolerance is ignored as "
        "the feature gate is disabled", 1, 5, 3, (cpu(100),),
        HorizontalScenario(3, [1010, 1030, 1020], MIXED), 3, False, READY,
        up_rules=ScalingRules(tolerance=0.01), configurable_tolerance=False,
    ),
    # TestReplicaLimits
    SyncCase(
        "TestReplicaLimits/scale down clamped to min replicas", 2, 5, 3, (cpu(90),),
        HorizontalScenario(3, [10, 95, 10], MIXED), 2, True,
        status_ok(ScalingLimited=(True, "TooFewReplicas")), recommendations=[],
    ),
    SyncCase(
        "TestReplicaLimits/scale down to zero when min replicas is zero", 0, 5, 3, (cpu(90),),
        HorizontalScenario(3, [0, 0, 0], MIXED), 0, True, STATUS_OK, recommendations=[],
    ),
    SyncCase(
        "TestReplicaLimits/scale down clamped to min when desired is zero", 2, 5, 3, (cpu(90),),
        HorizontalScenario(3, [0, 0, 0], MIXED), 2, True,
        status_ok(ScalingLimited=(True, "TooFewReplicas")), recommendations=[],
    ),
    SyncCase(
        "TestReplicaLimits/no scaling when spec replicas is zero", 3, 5, 0, (cpu(90),),
        HorizontalScenario(0, [], []), 0, False, DISABLED,
    ),
    SyncCase(
        "TestReplicaLimits/scale up to min when below min replicas", 3, 5, 2, (cpu(90),),
        HorizontalScenario(2, [], []), 3, True, {"AbleToScale": (True, "SucceededRescale")},
    ),
    SyncCase(
        "TestReplicaLimits/scale down to max when above max replicas", 3, 5, 10, (cpu(90),),
        HorizontalScenario(10, [], []), 5, True, {"AbleToScale": (True, "SucceededRescale")},
    ),
    SyncCase(
        "TestReplicaLimits/scale up clamped to max replicas", 2, 5, 3, (cpu(90),),
        HorizontalScenario(3, [8000, 9500, 1000], MIXED), 5, True,
        status_ok(ScalingLimited=(True, "TooManyReplicas")),
    ),
    # TestMetricsEdgeCases
    SyncCase(
        "TestMetricsEdgeCases/superfluous metrics reported", 2, 6, 4, (cpu(100),),
        scenario(4, [4000, 9500, 3000, 7000, 3200, 2000], 4), 6, True,
        status_ok(ScalingLimited=(True, "TooManyReplicas")),
    ),
    SyncCase(
        "TestMetricsEdgeCases/missing metrics from some pods", 2, 6, 4, (cpu(100),),
        scenario(4, [400, 95], 4), 3, True, recommendations=[],
    ),
    SyncCase(
        "TestMetricsEdgeCases/empty metrics from all pods", 2, 6, 4, (cpu(100),),
        scenario(4, [], 4), 4, False,
        {
            "AbleToScale": (True, "SucceededGetScale"),
            "ScalingActive": (False, "FailedGetResourceMetric"),
        },
        error=True,
    ),
    SyncCase(
        "TestMetricsEdgeCases/empty CPU requests", 1, 5, 1, (cpu(100),),
        HorizontalScenario(1, [200], []), 1, False,
        {
            "AbleToScale": (True, "SucceededGetScale"),
            "ScalingActive": (False, "FailedGetResourceMetric"),
        },
        error=True,
    ),
    SyncCase(
        "TestEventCreated", 1, 5, 1, (cpu(50),), HorizontalScenario(1, [200], [200]), 2, True,
    ),
    SyncCase(
        "TestEventNotCreated", 1, 5, 2, (cpu(50),), HorizontalScenario(2, [200, 200], [400, 400]),
        2, False, READY,
    ),
    # TestCPUScalingEdgeCases
    SyncCase(
        "TestCPUScalingEdgeCases/missing reports from some pods", 1, 5, 4, (cpu(50),),
        HorizontalScenario(4, [200], [200]), 2, True, recommendations=[],
    ),
    SyncCase(
        "TestCPUScalingEdgeCases/more replicas than spec no scale", 1, 8, 4, (cpu(50),),
        scenario(5, [500] * 5, 5), 4, False, READY,
    ),
    # TestUpscaleCap
    SyncCase(
        "TestUpscaleCap/capped by scale up rules", 1, 100, 3, (cpu(10),),
        HorizontalScenario(3, [100, 200, 300], TENTH), 24, True,
        status_ok(ScalingLimited=(True, "ScaleUpLimit")),
        up_rules=generate_scaling_rules(0, 0, 700, 60, 0),
    ),
    SyncCase(
        "TestUpscaleCap/capped by max replicas when scale up limit exceeds max", 1, 20, 3,
        (cpu(10),), HorizontalScenario(3, [100, 200, 300], TENTH), 20, True,
        status_ok(ScalingLimited=(True, "TooManyReplicas")),
        up_rules=generate_scaling_rules(0, 0, 700, 60, 0),
    ),
    # TestInvalidMetricSourceType
    SyncCase(
        "TestInvalidMetricSourceType/only invalid metric source type", 2, 6, 3, (CHEDDAR,),
        scenario(3, [20000]), 3, False,
        {
            "AbleToScale": (True, "SucceededGetScale"),
            "ScalingActive": (False, "InvalidMetricSourceType"),
        },
        error=True,
    ),
    SyncCase(
        "TestInvalidMetricSourceType/no scale down when one metric has invalid source type",
        2, 6, 5, (cpu(50), CHEDDAR), scenario(5, [100, 300, 500, 250, 250], 5), 5, False,
        {
            "AbleToScale": (True, "SucceededGetScale"),
            "ScalingActive": (False, "InvalidMetricSourceType"),
        },
        recommendations=[], error=True,
    ),
    # TestScaleTimingBehavior
    SyncCase(
        "TestScaleTimingBehavior/no backoff upscale custom metric only", 1, 5, 3,
        (pods_qps(15 * ONE_K),), scenario(3, [20000, 10000, 30000], 3), 4, True, STATUS_OK,
    ),
    SyncCase(
        "TestScaleTimingBehavior/no backoff upscale custom metric and CPU", 1, 5, 3,
        (cpu(10), pods_qps(15 * ONE_K)), scenario(3, [20000, 10000, 30000], 3), 5, True,
        status_ok(ScalingLimited=(True, "TooManyReplicas")),
    ),
    SyncCase(
        "TestScaleTimingBehavior/stabilize downscale", 1, 5, 4, (cpu(100),),
        HorizontalScenario(4, [50, 50, 50], TENTH), 4, False,
        status_ok(AbleToScale=(True, "ScaleDownStabilized")),
        recommendations=[
            Recommendation(10, NOW - 10 * MINUTE),
            Recommendation(4, NOW - 1 * MINUTE),
        ],
    ),
]  # fmt: skip

FAILED_GET_METRICS = [
    ("FailedGetResourceMetric", (cpu(10),), "cpu"),
    ("FailedGetPodsMetric", (pods_qps(15 * ONE_K),), "qps"),
    ("FailedGetObjectMetric", (object_qps(value=15 * ONE_K),), "qps"),
    ("FailedGetExternalMetric", (external_qps(value=300),), "qps"),
]


@pytest.mark.parametrize("case", MORE_CASES, ids=lambda c: c.name)
def test_reconcile_edges(case: SyncCase) -> None:
    _run(case)


@pytest.mark.parametrize(
    ("reason", "metrics", "failing"), FAILED_GET_METRICS, ids=[f[0] for f in FAILED_GET_METRICS]
)
def test_condition_failed_get_metrics(
    reason: str, metrics: tuple[MetricSpec, ...], failing: str
) -> None:
    """``TestConditionFailedGetMetrics``: every metrics API failing keeps 3 and says why."""
    _run(
        SyncCase(
            reason, 1, 100, 3, metrics,
            HorizontalScenario(3, [100, 200, 300], TENTH, failing=frozenset({failing})), 3,
            False,
            {"AbleToScale": (True, "SucceededGetScale"), "ScalingActive": (False, reason)},
            error=True,
        )
    )  # fmt: skip


@pytest.mark.parametrize("margin", [0.01, 0.004], ids=["scales", "holds"])
def test_computed_tolerance_alg_implementation(margin: float) -> None:
    """``TestComputedToleranceAlgImplementation`` (tc1 scales just past the tolerance, tc2
    holds just inside it), minReplicas 0, maxReplicas 1000."""
    start_pods = 10
    used = start_pods * 150
    requested = 2 * used
    requested_to_used = float(requested // used)
    per_pod = requested // start_pods
    target = abs(1 / (requested_to_used * (1 - 0.1))) + margin
    used_ratio = used / (requested * target)
    expected = math.ceil(used_ratio * start_pods) if margin == 0.01 else start_pods
    offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
    _run(
        SyncCase(
            f"margin {margin}", 0, 1000, start_pods, (cpu(int(target * 100)),),
            HorizontalScenario(start_pods, [used // 10] * 10, [per_pod + o for o in offsets]),
            expected, recommendations=[],
        )
    )  # fmt: skip


GATED = [
    # (name, minimum, spec, metrics, levels, initial, gate, expected, conditions)
    (
        "TestScaleUpFromZeroOneMetricInvalid", 0, 0, (cpu(30), CHEDDAR), [300, 400, 500], {},
        0, DISABLED,
    ),
    (
        "TestScaleUpFromZeroWithoutCondition", 0, 0, (object_qps(value=15 * ONE_K),), [20000],
        {}, 0, DISABLED,
    ),
    (
        "TestManualScaleToZeroDisablesHPA", 1, 0, (cpu(50),), [], {}, 0, DISABLED,
    ),
]  # fmt: skip


def _run(case: SyncCase) -> None:
    behavior = None
    if case.up_rules is not None or case.down_rules is not None:
        behavior = Behavior.of(case.up_rules, case.down_rules)  # SetDefaults_...Behavior
    hpa = HPASpec(case.maximum, case.metrics, case.minimum, behavior)
    config = dataclasses.replace(
        TESTING_CONTROLLER,
        scale_to_zero=case.scale_to_zero,
        configurable_tolerance=case.configurable_tolerance,
    )
    controller = HorizontalController(
        hpa,
        config,
        recommendations=case.recommendations,
        conditions=dict(case.initial_conditions),
    )
    got = controller.reconcile(
        Scale(case.spec_replicas, case.fixture.status_replicas), case.fixture.metrics(), NOW
    )
    assert got.desired_replicas == case.expected
    if case.rescale is not None:
        assert got.rescale is case.rescale
    if case.conditions is not None:
        assert got.conditions == case.conditions
    assert (got.error is not None) is case.error


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reconcile(case: SyncCase) -> None:
    _run(case)


@pytest.mark.parametrize("gate", [True, False], ids=["HPAScaleToZero=true", "HPAScaleToZero=false"])
@pytest.mark.parametrize(
    ("name", "minimum", "spec", "metrics", "levels", "initial", "expected", "conditions"),
    GATED,
    ids=[g[0] for g in GATED],
)
def test_reconcile_from_zero_is_disabled_without_the_condition(
    gate: bool,
    name: str,
    minimum: int,
    spec: int,
    metrics: tuple[MetricSpec, ...],
    levels: list[int],
    initial: dict[str, tuple[bool, str]],
    expected: int,
    conditions: dict[str, tuple[bool, str]],
) -> None:
    _run(
        SyncCase(
            name, minimum, 6, spec, metrics, scenario(spec, levels), expected, False, conditions,
            recommendations=[], initial_conditions=initial, scale_to_zero=gate,
        )
    )  # fmt: skip


@pytest.mark.parametrize("gate", [True, False], ids=["HPAScaleToZero=true", "HPAScaleToZero=false"])
def test_scale_up_from_zero_when_min_replicas_increased(gate: bool) -> None:
    """``TestScaleUpFromZeroWhenMinReplicasIncreased``."""
    _run(
        SyncCase(
            "", 2, 6, 0, (object_qps(value=15 * ONE_K),), scenario(0, [10000]),
            2 if gate else 0, gate,
            {
                "ScaledToZero": (False, "NotScaledToZero"),
                **status_ok(ScalingLimited=(True, "TooFewReplicas")),
            }
            if gate
            else DISABLED,
            initial_conditions={"ScaledToZero": (True, "ScaledToZero")}, scale_to_zero=gate,
        )
    )  # fmt: skip


@pytest.mark.parametrize("gate", [True, False], ids=["HPAScaleToZero=true", "HPAScaleToZero=false"])
def test_scaled_to_zero_condition_handled_on_normal_rescale(gate: bool) -> None:
    """``TestScaledToZeroConditionHandledOnNormalRescale``: set False, or removed when gated off."""
    _run(
        SyncCase(
            "", 1, 6, 3, (cpu(30),), scenario(3, [300, 500, 700], 3), 5, True,
            {"ScaledToZero": (False, "NotScaledToZero"), **STATUS_OK} if gate else STATUS_OK,
            initial_conditions={"ScaledToZero": (True, "ScaledToZero")}, scale_to_zero=gate,
        )
    )  # fmt: skip


def test_container_resource_and_average_value_targets() -> None:
    """``computeStatusForResourceMetricGeneric`` routes a ContainerResource metric to
    ``GetResourceReplicas`` with the container, and an ``AverageValue`` target to
    ``GetRawResourceReplicas``. Inputs are upstream's "scale up: container metric" case
    (TestReplicaCalcResourceScale: container2 at 300/500/700 of 1000 against 30 % -> 5) and
    TestScaleUpCPU's "scale up" (300/500/700 per pod; as an average of 300 milli -> 5)."""
    pods = [Pod(f"p{i}", requests={"c1": {"cpu": 1000}, "c2": {"cpu": 1000}}) for i in range(3)]
    usage = [
        PodUsage(f"p{i}", {"c1": 1000, "c2": level}, NOW, MINUTE)
        for i, level in enumerate([300, 500, 700])
    ]
    metrics = StaticMetrics(pod_list=pods, resources={"cpu": usage})
    container = MetricSpec.container_resource("cpu", "c2", MetricTarget(average_utilization=30))
    got = HorizontalController(HPASpec(10, (container,), 1), TESTING_CONTROLLER).reconcile(
        Scale(3, 3), metrics, NOW
    )
    assert (got.desired_replicas, got.statuses[0].utilization) == (5, 50)

    per_pod = [PodUsage(f"p{i}", {"c1": v}, NOW, MINUTE) for i, v in enumerate([300, 500, 700])]
    average = MetricSpec.resource("cpu", MetricTarget(average_value=300))
    got = HorizontalController(HPASpec(10, (average,), 1), TESTING_CONTROLLER).reconcile(
        Scale(3, 3), StaticMetrics(pod_list=pods, resources={"cpu": per_pod}), NOW
    )
    assert (got.desired_replicas, got.statuses[0].usage) == (5, 500)
