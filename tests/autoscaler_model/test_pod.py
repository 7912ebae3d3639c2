"""Upstream's pod-grouping and request tables.

Source: kubernetes ``pkg/controller/podautoscaler/replica_calculator_test.go`` (revision in
``infra/autoscaler/README.md``): ``TestGroupPods``, ``TestCalculateRequests``,
``TestCalculatePodRequestsFromContainers_NonExistentContainer``, ``TestGetPerPodUsage``.
``NOW - 60`` is ``time.Now().Add(-1 * time.Minute)``, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from autoscaler_model import Pod, PodMetric, PodPhase, ReplicaCalculationError
from autoscaler_model.pod import CPU, calculate_requests, group_pods
from autoscaler_model.replica_calculator import _per_pod_usage

from .scenario import MINUTE, NOW, TESTING_CALCULATOR

MAX_INT64 = 2**63 - 1


@dataclass(frozen=True)
class GroupCase:
    name: str
    pods: list[Pod]
    metrics: dict[str, PodMetric]
    resource: str
    ready: int
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


RUN = PodPhase.RUNNING
GROUP_PODS = [
    GroupCase("void", [], {}, CPU, 0),
    GroupCase(
        "count in a ready pod - memory",
        [Pod("bentham", RUN, ready=None, start_time=None)],
        {"bentham": PodMetric(1, NOW, MINUTE)},
        "memory",
        1,
    ),
    GroupCase(
        "unready a pod without ready condition - CPU",
        [Pod("lucretius", RUN, ready=None, start_time=NOW)],
        {"lucretius": PodMetric(1)},
        CPU,
        0,
        unready={"lucretius"},
    ),
    GroupCase(
        "count in a ready pod with fresh metrics during initialization period - CPU",
        [Pod("bentham", RUN, True, ready_transition_time=NOW - 30, start_time=NOW - MINUTE)],
        {"bentham": PodMetric(1, NOW, 30)},
        CPU,
        1,
    ),
    GroupCase(
        "unready a ready pod without fresh metrics during initialization period - CPU",
        [Pod("bentham", RUN, True, ready_transition_time=NOW - 30, start_time=NOW - MINUTE)],
        {"bentham": PodMetric(1, NOW, 60)},
        CPU,
        0,
        unready={"bentham"},
    ),
    GroupCase(
        "unready an unready pod during initialization period - CPU",
        [
            Pod(
                "lucretius",
                RUN,
                False,
                ready_transition_time=NOW - 9 * MINUTE - 54,
                start_time=NOW - 10 * MINUTE,
            )
        ],
        {"lucretius": PodMetric(1)},
        CPU,
        0,
        unready={"lucretius"},
    ),
    GroupCase(
        "count in a ready pod without fresh metrics after initialization period - CPU",
        [
            Pod(
                "bentham",
                RUN,
                True,
                ready_transition_time=NOW - 3 * MINUTE,
                start_time=NOW - 3 * MINUTE,
            )
        ],
        {"bentham": PodMetric(1, NOW - 2 * MINUTE, MINUTE)},
        CPU,
        1,
    ),
    GroupCase(
        "count in an unready pod that was ready after initialization period - CPU",
        [
            Pod(
                "lucretius",
                RUN,
                False,
                ready_transition_time=NOW - 9 * MINUTE,
                start_time=NOW - 10 * MINUTE,
            )
        ],
        {"lucretius": PodMetric(1)},
        CPU,
        1,
    ),
    GroupCase(
        "unready pod that has never been ready after initialization period - CPU",
        [
            Pod(
                "lucretius",
                RUN,
                False,
                ready_transition_time=NOW - 9 * MINUTE - 50,
                start_time=NOW - 10 * MINUTE,
            )
        ],
        {"lucretius": PodMetric(1)},
        CPU,
        1,
    ),
    GroupCase(
        "a missing pod",
        [Pod("epicurus", RUN, ready=None, start_time=NOW - 3 * MINUTE)],
        {},
        CPU,
        0,
        missing={"epicurus"},
    ),
    GroupCase(
        "several pods",
        [
            Pod("lucretius", RUN, ready=None, start_time=NOW),
            Pod(
                "niccolo",
                RUN,
                True,
                ready_transition_time=NOW - 3 * MINUTE,
                start_time=NOW - 3 * MINUTE,
            ),
            Pod("epicurus", RUN, ready=None, start_time=NOW - 3 * MINUTE),
        ],
        {"lucretius": PodMetric(1), "niccolo": PodMetric(1)},
        CPU,
        1,
        unready={"lucretius"},
        missing={"epicurus"},
    ),
    GroupCase(
        "pending pods are unreadied",
        [Pod("unscheduled", PodPhase.PENDING, ready=None, start_time=None)],
        {},
        CPU,
        0,
        unready={"unscheduled"},
    ),
    GroupCase(
        "ignore pods with deletion timestamps",
        [Pod("deleted", PodPhase.PENDING, ready=None, start_time=None, deleted=True)],
        {"deleted": PodMetric(1)},
        CPU,
        0,
        ignored={"deleted"},
    ),
    GroupCase(
        "ignore pods in a failed state",
        [Pod("failed", PodPhase.FAILED, ready=None, start_time=None)],
        {"failed": PodMetric(1)},
        CPU,
        0,
        ignored={"failed"},
    ),
    GroupCase(
        "ignore pods in a succeeded state",
        [Pod("succeeded", PodPhase.SUCCEEDED, ready=None, start_time=None)],
        {"succeeded": PodMetric(1)},
        CPU,
        0,
        ignored={"succeeded"},
    ),
]


@pytest.mark.parametrize("case", GROUP_PODS, ids=lambda c: c.name)
def test_group_pods(case: GroupCase) -> None:
    groups = group_pods(
        case.pods,
        case.metrics,
        case.resource,
        TESTING_CALCULATOR.cpu_initialization_period,
        TESTING_CALCULATOR.delay_of_initial_readiness_status,
        NOW,
    )
    assert (groups.ready_count, groups.unready, groups.missing, groups.ignored) == (
        case.ready,
        case.unready,
        case.missing,
        case.ignored,
    )


TWO_CONTAINERS = {"container1": {"cpu": 100}, "container2": {"cpu": 50}}


@pytest.mark.parametrize(
    ("name", "pod", "container", "pod_level", "expected"),
    [
        ("void", None, "", False, {}),
        (
            "Sum container requests if pod-level feature is disabled",
            Pod("test-pod", requests=TWO_CONTAINERS),
            "",
            False,
            {"test-pod": 150},
        ),
        (
            "Pod-level resources are enabled, but not set: fallback to sum container requests",
            Pod("test-pod", requests=TWO_CONTAINERS),
            "",
            True,
            {"test-pod": 150},
        ),
        (
            "Pod-level resources override container requests when feature enabled and pod "
            "resources specified",
            Pod("test-pod", requests=TWO_CONTAINERS, pod_requests={"cpu": 800}),
            "",
            True,
            {"test-pod": 800},
        ),
        (
            "Pod-level resources override missing container requests when feature enabled and "
            "pod resources specified",
            Pod(
                "test-pod",
                requests={"container1": {}, "container2": {"cpu": 50}},
                pod_requests={"cpu": 800},
            ),
            "",
            True,
            {"test-pod": 800},
        ),
        (
            "Container: if a container name is specified, calculate requests only for that "
            "container",
            Pod("test-pod", requests=TWO_CONTAINERS),
            "container1",
            False,
            {"test-pod": 100},
        ),
        (
            "Container: if a container name is specified, calculate requests only for that "
            "container and ignore pod-level requests",
            Pod("test-pod", requests=TWO_CONTAINERS, pod_requests={"cpu": 800}),
            "container1",
            True,
            {"test-pod": 100},
        ),
        (
            # The plain init container (20m) does not count; the restartable one (50m) does.
            "pod with restartable init containers",
            Pod(
                "test-pod",
                requests={"container1": {"cpu": 100}},
                sidecar_requests={"restartable-container1": {"cpu": 50}},
            ),
            "",
            False,
            {"test-pod": 150},
        ),
    ],
)
def test_calculate_requests(
    name: str, pod: Pod | None, container: str, pod_level: bool, expected: dict[str, int]
) -> None:
    pods = [] if pod is None else [pod]
    assert calculate_requests(pods, container, CPU, pod_level_resources=pod_level) == expected


def test_missing_container_request_is_an_error() -> None:
    """ "Fail if at least one of the containers is missing requests and pod-level ... not set"."""
    pod = Pod("test-pod", requests={"container1": {}, "container2": {"cpu": 50}})
    with pytest.raises(
        ReplicaCalculationError,
        match="missing request for cpu in container container1 of Pod test-pod",
    ):
        calculate_requests([pod], "", CPU, pod_level_resources=False)


def test_calculate_pod_requests_from_containers_non_existent_container() -> None:
    pod = Pod("test-pod", requests={"container1": {"cpu": 100}})
    with pytest.raises(
        ReplicaCalculationError, match="container non-existent-container not found in Pod test-pod"
    ):
        calculate_requests([pod], "non-existent-container", CPU, pod_level_resources=False)


@pytest.mark.parametrize(
    ("name", "usage", "replicas", "expected"),
    [
        ("zero replicas returns zero", 20000, 0, 0),
        ("normal division with ceiling", 1000, 3, 334),
        ("overflow returns MaxInt64", MAX_INT64, 1, MAX_INT64),
    ],
)
def test_get_per_pod_usage(name: str, usage: int, replicas: int, expected: int) -> None:
    assert _per_pod_usage(usage, replicas) == expected
