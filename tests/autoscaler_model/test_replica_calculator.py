"""Upstream's replica-calculator tables, case by case.

Source: kubernetes ``pkg/controller/podautoscaler/replica_calculator_test.go`` (revision in
``infra/autoscaler/README.md``): ``TestReplicaCalcResourceScale``,
``TestReplicaCalcResourceTolerance``, ``TestReplicaCalcResourceMissingMetrics``,
``TestReplicaCalcPodMetric``, ``TestReplicaCalcObjectMetric``,
``TestReplicaCalcObjectPerPodMetric``, ``TestReplicaCalcExternalMetric``,
``TestReplicaCalcExternalPerPodMetric``, ``TestReplicaCalcComputedToleranceAlgImplementation``.
Each case id is upstream's ``name``; a CPU request of ``"1.0"`` is 1000 milli per container.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from autoscaler_model import PodPhase, ReplicaCalculationError, Tolerances

from .scenario import (
    DEFAULT_TOLERANCES,
    NOW,
    NUM_CONTAINERS_PER_POD,
    TESTING_CALCULATOR,
    TESTING_TOLERANCE,
    CalcScenario,
    pod_metric_levels,
    time_3_mins_ago,
    time_now,
)

MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
T, F = True, False
RUN, PEND, FAIL, DONE = PodPhase.RUNNING, PodPhase.PENDING, PodPhase.FAILED, PodPhase.SUCCEEDED
C = NUM_CONTAINERS_PER_POD


def cpu(n: int, milli: int = 1000) -> list[int]:
    """``cpuRequests(n, "1.0")``."""
    return [milli] * n


@dataclass(frozen=True)
class ResourceCase:
    name: str
    fixture: CalcScenario
    target: int
    replicas: int = 0
    utilization: int = 0
    raw: int = 0
    container: str = ""
    tolerances: Tolerances = DEFAULT_TOLERANCES
    error: str = ""


def _c2(*pairs: tuple[int, int]) -> list[list[int]]:
    return [list(p) for p in pairs]


RESOURCE_SCALE = [
    ResourceCase(
        "scale up", CalcScenario(3, cpu(3), pod_metric_levels(300, 500, 700)), 30, 5, 50, C * 500
    ),
    ResourceCase(
        "scale up: container metric",
        CalcScenario(3, cpu(3), _c2((1000, 300), (1000, 500), (1000, 700))),
        30,
        5,
        50,
        500,
        container="container2",
    ),
    ResourceCase(
        "scale up: unready pod scales less",
        CalcScenario(3, cpu(3), pod_metric_levels(300, 500, 700), readiness=[F, T, T]),
        30,
        4,
        60,
        C * 600,
    ),
    ResourceCase(
        "scale up: hot-CPU container scales less",
        CalcScenario(
            3,
            cpu(3),
            _c2((0, 300), (0, 500), (0, 700)),
            start_time=[time_now(), time_3_mins_ago(), time_3_mins_ago()],
        ),
        30,
        4,
        60,
        600,
        container="container2",
    ),
    ResourceCase(
        "scale up: hot-CPU pod scales less",
        CalcScenario(
            3,
            cpu(3),
            pod_metric_levels(300, 500, 700),
            start_time=[time_now(), time_3_mins_ago(), time_3_mins_ago()],
        ),
        30,
        4,
        60,
        C * 600,
    ),
    ResourceCase(
        "no scale: unready pods ignored",
        CalcScenario(3, cpu(3), pod_metric_levels(400, 500, 700), readiness=[T, F, F]),
        30,
        3,
        40,
        C * 400,
    ),
    ResourceCase(
        "no scale: hot-CPU pods ignored",
        CalcScenario(
            3,
            cpu(3),
            pod_metric_levels(400, 500, 700),
            readiness=[T, F, F],
            start_time=[time_3_mins_ago(), time_now(), time_now()],
        ),
        30,
        3,
        40,
        C * 400,
    ),
    ResourceCase(
        "scale up: failed pods ignored",
        CalcScenario(
            2,
            cpu(4),
            pod_metric_levels(500, 700),
            readiness=[T, T, F, F],
            phase=[RUN, RUN, FAIL, FAIL],
        ),
        30,
        4,
        60,
        C * 600,
    ),
    ResourceCase(
        "scale up: failed pods ignored with missing container metric",
        CalcScenario(
            2,
            cpu(4),
            [[1000, 500], [9000, 700], [1000], [9000]],
            readiness=[T, T, F, F],
            phase=[RUN, RUN, FAIL, FAIL],
        ),
        30,
        4,
        60,
        600,
        container="container2",
    ),
    ResourceCase(
        "scale up: container metrics with failed pods ignored",
        CalcScenario(
            2,
            cpu(4),
            _c2((1000, 500), (9000, 700)),
            readiness=[T, T, F, F],
            phase=[RUN, RUN, FAIL, FAIL],
        ),
        30,
        4,
        60,
        600,
        container="container2",
    ),
    ResourceCase(
        "scale up: succeeded pods ignored",
        CalcScenario(
            2,
            cpu(4),
            pod_metric_levels(500, 700),
            readiness=[T, T, F, F],
            phase=[RUN, RUN, DONE, DONE],
        ),
        30,
        4,
        60,
        C * 600,
    ),
    ResourceCase(
        "scale up: container metric with succeeded pods ignored",
        CalcScenario(
            2,
            cpu(4),
            _c2((1000, 500), (9000, 700)),
            readiness=[T, T, F, F],
            phase=[RUN, RUN, DONE, DONE],
        ),
        30,
        4,
        60,
        600,
        container="container2",
    ),
    ResourceCase(
        "scale up: pods being deleted are ignored",
        CalcScenario(
            2,
            cpu(4),
            pod_metric_levels(500, 700),
            readiness=[T, T, F, F],
            phase=[RUN] * 4,
            deleted=[F, F, T, T],
        ),
        30,
        4,
        60,
        C * 600,
    ),
    ResourceCase(
        "scale up: container metrics with pods being deleted ignored",
        CalcScenario(
            2,
            cpu(4),
            pod_metric_levels(500, 700),
            readiness=[T, T, F, F],
            phase=[RUN] * 4,
            deleted=[F, F, T, T],
        ),
        30,
        4,
        60,
        600,
        container="container1",
    ),
    ResourceCase(
        "scale down",
        CalcScenario(5, cpu(5), pod_metric_levels(100, 300, 500, 250, 250)),
        50,
        3,
        28,
        C * 280,
    ),
    ResourceCase(
        "scale down: container metric",
        CalcScenario(
            5, cpu(5), _c2((1000, 100), (1000, 300), (1000, 500), (1000, 250), (1000, 250))
        ),
        50,
        3,
        28,
        280,
        container="container2",
    ),
    ResourceCase(
        "scale down: exclude unready pods",
        CalcScenario(
            5, cpu(5), pod_metric_levels(100, 300, 500, 250, 250), readiness=[T, T, T, F, F]
        ),
        50,
        2,
        30,
        C * 300,
    ),
    ResourceCase(
        "scale down: container metric excludes unready pods",
        CalcScenario(
            5,
            cpu(5),
            _c2((1000, 100), (1000, 300), (1000, 500), (1000, 250), (1000, 250)),
            readiness=[T, T, T, F, F],
        ),
        50,
        2,
        30,
        300,
        container="container2",
    ),
    ResourceCase(
        "scale down: exclude unscheduled pods",
        CalcScenario(
            5,
            cpu(5),
            pod_metric_levels(100),
            readiness=[T, F, F, F, F],
            phase=[RUN, PEND, PEND, PEND, PEND],
        ),
        50,
        1,
        10,
        C * 100,
    ),
    ResourceCase(
        "scale down: container metric excludes unscheduled pods",
        CalcScenario(
            5,
            cpu(5),
            _c2((1000, 100), (1000, 300), (1000, 500), (1000, 250), (1000, 250)),
            readiness=[T, F, F, F, F],
            phase=[RUN, PEND, PEND, PEND, PEND],
        ),
        50,
        1,
        10,
        100,
        container="container2",
    ),
    ResourceCase(
        "scale down: ignore hot-CPU pods",
        CalcScenario(
            5,
            cpu(5),
            pod_metric_levels(100, 300, 500, 250, 250),
            start_time=[time_3_mins_ago()] * 3 + [time_now()] * 2,
        ),
        50,
        2,
        30,
        C * 300,
    ),
    ResourceCase(
        "scale down: container metric ignores hot-CPU pods",
        CalcScenario(
            5,
            cpu(5),
            _c2((1000, 100), (1000, 300), (1000, 500), (1000, 1000), (1000, 1000)),
            start_time=[time_3_mins_ago()] * 3 + [time_now()] * 2,
        ),
        50,
        2,
        30,
        300,
        container="container2",
    ),
    ResourceCase(
        "scale down: failed pods ignored",
        CalcScenario(
            5,
            cpu(7),
            pod_metric_levels(100, 300, 500, 250, 250),
            readiness=[T] * 5 + [F, F],
            phase=[RUN] * 5 + [FAIL, FAIL],
        ),
        50,
        3,
        28,
        C * 280,
    ),
    ResourceCase(
        "scale down: container metric with failed pods ignored",
        CalcScenario(
            5,
            cpu(7),
            _c2((1000, 100), (1000, 300), (1000, 500), (1000, 250), (1000, 250)),
            readiness=[T] * 5 + [F, F],
            phase=[RUN] * 5 + [FAIL, FAIL],
        ),
        50,
        3,
        28,
        280,
        container="container2",
    ),
    ResourceCase(
        "scale down: succeeded pods ignored",
        CalcScenario(
            5,
            cpu(7),
            pod_metric_levels(100, 300, 500, 250, 250),
            readiness=[T] * 5 + [F, F],
            phase=[RUN] * 5 + [DONE, DONE],
        ),
        50,
        3,
        28,
        C * 280,
    ),
    ResourceCase(
        "scale down: container metric with succeeded pods ignored",
        CalcScenario(
            5,
            cpu(7),
            _c2((1000, 100), (1000, 300), (1000, 500), (1000, 250), (1000, 250)),
            readiness=[T] * 5 + [F, F],
            phase=[RUN] * 5 + [DONE, DONE],
        ),
        50,
        3,
        28,
        280,
        container="container2",
    ),
    ResourceCase(
        "scale down: pods being deleted are ignored",
        CalcScenario(
            5,
            cpu(7),
            pod_metric_levels(100, 300, 500, 250, 250),
            readiness=[T] * 5 + [F, F],
            phase=[RUN] * 7,
            deleted=[F] * 5 + [T, T],
        ),
        50,
        3,
        28,
        C * 280,
    ),
    ResourceCase(
        "scale down: still-running pods being deleted are ignored",
        CalcScenario(
            5,
            cpu(7),
            _c2((1000, 100), (1000, 300), (1000, 500), (1000, 250), (1000, 250)),
            readiness=[T] * 5 + [F, F],
            phase=[RUN] * 7,
            deleted=[F] * 5 + [T, T],
        ),
        50,
        3,
        28,
        280,
        container="container2",
    ),
]

MIXED = [900, 1000, 1100]
RESOURCE_TOLERANCE = [
    ResourceCase(
        "within default tolerance",
        CalcScenario(3, MIXED, pod_metric_levels(1010, 1030, 1020)),
        100,
        3,
        102,
        C * 1020,
    ),
    ResourceCase(
        "outside 0% tolerance",
        CalcScenario(3, MIXED, pod_metric_levels(909, 1010, 1111)),
        100,
        4,
        101,
        C * 1010,
        tolerances=Tolerances(0.0, 0.0),
    ),
    ResourceCase(
        "within 200% scale-up tolerance",
        CalcScenario(3, MIXED, pod_metric_levels(1890, 1910, 1900)),
        100,
        3,
        190,
        C * 1900,
        tolerances=Tolerances(TESTING_TOLERANCE, 2.0),
    ),
    ResourceCase(
        "outside 8% scale-up tolerance (superfluous scale-down tolerance)",
        CalcScenario(3, MIXED, pod_metric_levels(1100, 1080, 1090)),
        100,
        4,
        109,
        C * 1090,
        tolerances=Tolerances(2.0, 0.08),
    ),
    ResourceCase(
        "within 36% scale-down tolerance",
        CalcScenario(3, MIXED, pod_metric_levels(660, 640, 650)),
        100,
        3,
        65,
        C * 650,
        tolerances=Tolerances(0.36, TESTING_TOLERANCE),
    ),
    ResourceCase(
        "outside 34% scale-down tolerance",
        CalcScenario(3, MIXED, pod_metric_levels(660, 640, 650)),
        100,
        2,
        65,
        C * 650,
        tolerances=Tolerances(0.34, TESTING_TOLERANCE),
    ),
]

RESOURCE_MISSING = [
    ResourceCase(
        "superfluous metrics counted",
        CalcScenario(4, cpu(4), pod_metric_levels(4000, 9500, 3000, 7000, 3200, 2000)),
        100,
        24,
        587,
        C * 5875,
    ),
    ResourceCase(
        "some pods missing metrics scales down",
        CalcScenario(4, cpu(4), pod_metric_levels(400, 95)),
        100,
        3,
        24,
        495,
    ),
    ResourceCase(
        "no change: metric equal to target",
        CalcScenario(2, cpu(2), pod_metric_levels(1000)),
        100,
        2,
        100,
        C * 1000,
    ),
    ResourceCase(
        "no change: metric above target",
        CalcScenario(2, cpu(2), pod_metric_levels(1900)),
        100,
        2,
        190,
        C * 1900,
    ),
    ResourceCase(
        "no change: metric below target",
        CalcScenario(2, cpu(2), pod_metric_levels(600)),
        100,
        2,
        60,
        C * 600,
    ),
    ResourceCase(
        "no change: unready pod metric missing",
        CalcScenario(3, cpu(3), pod_metric_levels(100, 450), readiness=[F, T, T]),
        50,
        3,
        45,
        C * 450,
    ),
    ResourceCase(
        "no change: hot-CPU pod metric missing",
        CalcScenario(
            3,
            cpu(3),
            pod_metric_levels(100, 450),
            start_time=[time_now(), time_3_mins_ago(), time_3_mins_ago()],
        ),
        50,
        3,
        45,
        C * 450,
    ),
    ResourceCase(
        "scale up: unready pod metric missing",
        CalcScenario(3, cpu(3), pod_metric_levels(100, 2000), readiness=[F, T, T]),
        50,
        4,
        200,
        C * 2000,
    ),
    ResourceCase(
        "scale up: hot-CPU pod metric missing",
        CalcScenario(
            3,
            cpu(3),
            pod_metric_levels(100, 2000),
            readiness=[F, T, T],
            start_time=[time_now(), time_3_mins_ago(), time_3_mins_ago()],
        ),
        50,
        4,
        200,
        C * 2000,
    ),
    ResourceCase(
        "scale down: unready pod metric missing",
        CalcScenario(4, cpu(4), pod_metric_levels(100, 100, 100), readiness=[F, T, T, T]),
        50,
        3,
        10,
        C * 100,
    ),
    ResourceCase(
        "scale down: target over 100",
        CalcScenario(
            4, [1000, 1000, 2000, 2000], pod_metric_levels(200, 100, 100), readiness=[F, T, T, T]
        ),
        300,
        2,
        6,
        C * 100,
    ),
    ResourceCase(
        "rolling update with maxSurge: extra pod missing metric",
        CalcScenario(2, cpu(3), pod_metric_levels(100, 100), phase=[RUN, RUN, RUN]),
        50,
        2,
        10,
        C * 100,
    ),
    ResourceCase(
        "disjoint pod and metric names",
        CalcScenario(1, cpu(1), pod_metric_levels(100), pod_names=["an-older-pod-name"]),
        100,
        error="no metrics returned matched known pods",
    ),
    ResourceCase(
        "no metrics returned from metrics API",
        CalcScenario(4, cpu(3), pod_metric_levels()),
        100,
        error="unable to get metrics for resource cpu: no metrics returned from resource metrics",
    ),
    ResourceCase(
        "missing CPU request on container",
        CalcScenario(1, [], pod_metric_levels(200)),
        100,
        error="missing request for",
    ),
]


def _run_resource(case: ResourceCase) -> None:
    f = case.fixture
    if case.error:
        with pytest.raises(ReplicaCalculationError, match=case.error):
            TESTING_CALCULATOR.resource_replicas(
                f.current_replicas,
                case.target,
                "cpu",
                case.tolerances,
                f.pods(),
                f.usage(),
                case.container,
                NOW,
            )
        return
    got = TESTING_CALCULATOR.resource_replicas(
        f.current_replicas,
        case.target,
        "cpu",
        case.tolerances,
        f.pods(),
        f.usage(),
        case.container,
        NOW,
    )
    assert (got.replicas, got.utilization, got.raw_average) == (
        case.replicas,
        case.utilization,
        case.raw,
    )


@pytest.mark.parametrize("case", RESOURCE_SCALE, ids=lambda c: c.name)
def test_replica_calc_resource_scale(case: ResourceCase) -> None:
    _run_resource(case)


@pytest.mark.parametrize("case", RESOURCE_TOLERANCE, ids=lambda c: c.name)
def test_replica_calc_resource_tolerance(case: ResourceCase) -> None:
    _run_resource(case)


@pytest.mark.parametrize("case", RESOURCE_MISSING, ids=lambda c: c.name)
def test_replica_calc_resource_missing_metrics(case: ResourceCase) -> None:
    _run_resource(case)


@dataclass(frozen=True)
class MetricCase:
    name: str
    fixture: CalcScenario
    target: int
    replicas: int
    usage: int
    tolerances: Tolerances = DEFAULT_TOLERANCES


ONE_PERCENT_UP = Tolerances(TESTING_TOLERANCE, 0.01)

POD_METRIC = [
    MetricCase("scale up", CalcScenario(3, metric_levels=[20000, 10000, 30000]), 15000, 4, 20000),
    MetricCase(
        "scale up: unready hot-CPU pod scales less",
        CalcScenario(
            3,
            metric_levels=[50000, 10000, 30000],
            readiness=[T, T, F],
            start_time=[time_3_mins_ago(), time_3_mins_ago(), time_now()],
        ),
        15000,
        6,
        30000,
    ),
    MetricCase(
        "scale up: unready hot-CPU pods avoid scale-down",
        CalcScenario(
            3,
            metric_levels=[50000, 15000, 30000],
            readiness=[F, T, F],
            start_time=[time_now(), time_3_mins_ago(), time_now()],
        ),
        15000,
        7,
        31666,
    ),
    MetricCase(
        "scale down",
        CalcScenario(5, metric_levels=[12000] * 5),
        20000,
        3,
        12000,
    ),
    MetricCase(
        "within default tolerance",
        CalcScenario(3, metric_levels=[20000, 21000, 21000]),
        20000,
        3,
        20666,
    ),
    MetricCase(
        "outside configurable 1% tolerance",
        CalcScenario(3, metric_levels=[20000, 21000, 21000]),
        20000,
        4,
        20666,
        ONE_PERCENT_UP,
    ),
    MetricCase(
        "no change: missing metrics",
        CalcScenario(5, metric_levels=[20000, 19000, 21000]),
        20000,
        5,
        20000,
    ),
    MetricCase(
        "rolling update with maxSurge: extra pod missing metric",
        CalcScenario(2, metric_levels=[10000, 10000], phase=[RUN, RUN, RUN]),
        17000,
        2,
        10000,
    ),
]


@pytest.mark.parametrize("case", POD_METRIC, ids=lambda c: c.name)
def test_replica_calc_pod_metric(case: MetricCase) -> None:
    f = case.fixture
    got = TESTING_CALCULATOR.metric_replicas(
        f.current_replicas, case.target, case.tolerances, f.pods(), f.custom_metrics(), NOW
    )
    assert (got.replicas, got.usage) == (case.replicas, case.usage)


OBJECT_METRIC = [
    MetricCase("scale up", CalcScenario(3, metric_levels=[20000]), 15000, 4, 20000),
    MetricCase(
        "scale up: very large metric saturates replicas to MaxInt32",
        CalcScenario(3, metric_levels=[MAX_INT64]),
        1,
        MAX_INT32,
        MAX_INT64,
    ),
    MetricCase(
        "scale up: ignores unready pods",
        CalcScenario(3, metric_levels=[50000], readiness=[F, T, F]),
        10000,
        5,
        50000,
    ),
    MetricCase("scale down", CalcScenario(5, metric_levels=[12000]), 20000, 3, 12000),
    MetricCase("within default tolerance", CalcScenario(3, metric_levels=[20666]), 20000, 3, 20666),
    MetricCase(
        "outside configurable 1% tolerance",
        CalcScenario(3, metric_levels=[20666]),
        20000,
        4,
        20666,
        ONE_PERCENT_UP,
    ),
]


@pytest.mark.parametrize("case", OBJECT_METRIC, ids=lambda c: c.name)
def test_replica_calc_object_metric(case: MetricCase) -> None:
    f = case.fixture
    got = TESTING_CALCULATOR.object_metric_replicas(
        f.current_replicas, case.target, case.tolerances, f.metric_levels[0], f.pods()
    )
    assert (got.replicas, got.usage) == (case.replicas, case.usage)


OBJECT_PER_POD_METRIC = [
    MetricCase(
        "usage overflow with huge target leaves replicas unchanged",
        CalcScenario(1, metric_levels=[MAX_INT64]),
        MAX_INT64,
        1,
        MAX_INT64,
    ),
    MetricCase("scale up", CalcScenario(3, metric_levels=[20000]), 5000, 4, 6667),
    MetricCase("scale down", CalcScenario(5, metric_levels=[6000]), 2000, 3, 1200),
    MetricCase("within default tolerance", CalcScenario(4, metric_levels=[20166]), 5000, 4, 5042),
    MetricCase(
        "outside configurable 1% tolerance",
        CalcScenario(4, metric_levels=[20208]),
        5000,
        5,
        5052,
        ONE_PERCENT_UP,
    ),
    MetricCase(
        "statusReplicas zero does not overflow usage",
        CalcScenario(0, metric_levels=[20000]),
        5000,
        4,
        0,
    ),
    MetricCase(
        "statusReplicas zero and metric zero does not underflow",
        CalcScenario(0, metric_levels=[0]),
        5000,
        0,
        0,
    ),
]


@pytest.mark.parametrize("case", OBJECT_PER_POD_METRIC, ids=lambda c: c.name)
def test_replica_calc_object_per_pod_metric(case: MetricCase) -> None:
    f = case.fixture
    got = TESTING_CALCULATOR.object_per_pod_metric_replicas(
        f.current_replicas, case.target, case.tolerances, f.metric_levels[0]
    )
    assert (got.replicas, got.usage) == (case.replicas, case.usage)


EXTERNAL_METRIC = [
    MetricCase(
        "scale down: ignores unready pods (would otherwise scale up)",
        CalcScenario(3, metric_levels=[8600], readiness=[F, T, F]),
        4400,
        2,
        8600,
    ),
    MetricCase("scale down", CalcScenario(5, metric_levels=[8600]), 14334, 3, 8600),
    MetricCase("within default tolerance", CalcScenario(3, metric_levels=[8600]), 8888, 3, 8600),
    MetricCase(
        "outside configurable 1% tolerance",
        CalcScenario(3, metric_levels=[8900]),
        8800,
        4,
        8900,
        ONE_PERCENT_UP,
    ),
    MetricCase(
        "usage overflow caps at MaxInt64",
        CalcScenario(3, metric_levels=[MAX_INT64 // 2 + 1, MAX_INT64 // 2 + 1]),
        MAX_INT64,
        3,
        MAX_INT64,
    ),
]


@pytest.mark.parametrize("case", EXTERNAL_METRIC, ids=lambda c: c.name)
def test_replica_calc_external_metric(case: MetricCase) -> None:
    f = case.fixture
    got = TESTING_CALCULATOR.external_metric_replicas(
        f.current_replicas, case.target, case.tolerances, f.metric_levels, f.pods()
    )
    assert (got.replicas, got.usage) == (case.replicas, case.usage)


EXTERNAL_PER_POD_METRIC = [
    MetricCase(
        "replica count overflow saturates to MaxInt32",
        CalcScenario(1, metric_levels=[MAX_INT64]),
        1,
        MAX_INT32,
        MAX_INT64,
    ),
    MetricCase(
        "usage overflow with huge target leaves replicas unchanged",
        CalcScenario(1, metric_levels=[MAX_INT64]),
        MAX_INT64,
        1,
        MAX_INT64,
    ),
    MetricCase(
        "statusReplicas zero does not overflow usage",
        CalcScenario(0, metric_levels=[20000]),
        5000,
        4,
        0,
    ),
    MetricCase(
        "statusReplicas zero and metric zero does not underflow",
        CalcScenario(0, metric_levels=[0]),
        5000,
        0,
        0,
    ),
    MetricCase("scale up", CalcScenario(3, metric_levels=[8600]), 2150, 4, 2867),
    MetricCase("scale down", CalcScenario(5, metric_levels=[8600]), 2867, 3, 1720),
    MetricCase("within default tolerance", CalcScenario(3, metric_levels=[8600]), 2900, 3, 2867),
    MetricCase(
        "outside configurable 1% tolerance",
        CalcScenario(3, metric_levels=[8600]),
        2800,
        4,
        2867,
        ONE_PERCENT_UP,
    ),
]


@pytest.mark.parametrize("case", EXTERNAL_PER_POD_METRIC, ids=lambda c: c.name)
def test_replica_calc_external_per_pod_metric(case: MetricCase) -> None:
    f = case.fixture
    got = TESTING_CALCULATOR.external_per_pod_metric_replicas(
        f.current_replicas, case.target, case.tolerances, f.metric_levels
    )
    assert (got.replicas, got.usage) == (case.replicas, case.usage)


def _tolerance_fixture(start_pods: int, used: int, per_pod_requested: int) -> CalcScenario:
    offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
    return CalcScenario(
        start_pods,
        [per_pod_requested + o for o in offsets],
        pod_metric_levels(*[used // 10] * 10),
    )


def test_replica_calc_computed_tolerance_alg_implementation() -> None:
    """``TestReplicaCalcComputedToleranceAlgImplementation``: scale just past the tolerance."""
    start_pods = 10
    used = start_pods * 150
    requested = 2 * used
    requested_to_used = float(requested // used)
    per_pod_requested = requested // start_pods
    target = abs(1 / (requested_to_used * (1 - TESTING_TOLERANCE))) + 0.01
    final_target = int(target * 100)
    used_ratio = used / (requested * target)
    final_pods = math.ceil(used_ratio * start_pods)
    expected_utilization = (used * 100) // requested
    expected_raw = C * used // 10

    f1 = _tolerance_fixture(start_pods, used, per_pod_requested)
    got = TESTING_CALCULATOR.resource_replicas(
        start_pods, final_target, "cpu", DEFAULT_TOLERANCES, f1.pods(), f1.usage(), "", NOW
    )
    assert (got.replicas, got.utilization, got.raw_average) == (
        final_pods,
        expected_utilization,
        expected_raw,
    )

    # "Now, we test that no scaling happens if we are in a very close margin to the tolerance."
    target = abs(1 / (requested_to_used * (1 - TESTING_TOLERANCE))) + 0.004
    got = TESTING_CALCULATOR.resource_replicas(
        start_pods, int(target * 100), "cpu", DEFAULT_TOLERANCES, f1.pods(), f1.usage(), "", NOW
    )
    assert (got.replicas, got.utilization, got.raw_average) == (
        start_pods,
        expected_utilization,
        expected_raw,
    )


def test_missing_pods_count_at_the_target_on_a_scale_down() -> None:
    """``calcPlainMetricReplicas``: "on a scale-down, treat missing pods as using exactly the
    target amount" (and 0 on a scale-up). Upstream's tables only reach this branch at a ratio of
    exactly 1, so this case is derived from the source: 2 of 4 pods report 5 against a target of
    10 (ratio 0.5); with the two missing at 10 the ratio is 0.75 and ceil(0.75 x 4) = 3."""
    f = CalcScenario(4, metric_levels=[5000, 5000])
    got = TESTING_CALCULATOR.metric_replicas(
        4, 10000, DEFAULT_TOLERANCES, f.pods(), f.custom_metrics(), NOW
    )
    assert (got.replicas, got.usage) == (3, 5000)
    # On a scale-up the missing pods count as 0: 2 x 30 against 10 is 3.0, diluted to 1.5 -> 6.
    f = CalcScenario(4, metric_levels=[30000, 30000])
    got = TESTING_CALCULATOR.metric_replicas(
        4, 10000, DEFAULT_TOLERANCES, f.pods(), f.custom_metrics(), NOW
    )
    assert got.replicas == 6
