"""Upstream's stabilization and rate-limit tables.

Source: kubernetes ``pkg/controller/podautoscaler/horizontal_test.go`` (revision in
``infra/autoscaler/README.md``): ``TestNormalizeDesiredReplicas``,
``TestNormalizeDesiredReplicasWithBehavior``, ``TestConvertDesiredReplicasWithRules``,
``TestScalingWithRules``. Case ids are upstream's names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from autoscaler_model.behavior import generate_scale_down_rules, generate_scale_up_rules
from autoscaler_model.normalization import (
    Recommendation,
    convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules,
    stabilize_recommendation,
    stabilize_recommendation_with_behaviors,
)

from .scenario import MINUTE, NOW, generate_scaling_rules, uniform_events

if TYPE_CHECKING:
    from autoscaler_model import ScaleEvent, ScalingRules


def rec(replicas: int, minutes_ago: float) -> Recommendation:
    return Recommendation(replicas, NOW - minutes_ago * MINUTE)


@pytest.mark.parametrize(
    ("name", "recommendations", "desired", "expected", "log_length"),
    [
        ("empty log", [], 5, 5, 1),
        ("stabilize", [rec(4, 2), rec(5, 1)], 3, 5, 3),
        ("no stabilize", [rec(1, 2), rec(2, 1)], 3, 3, 3),
        ("no stabilize - old recommendations", [rec(10, 10), rec(9, 9)], 3, 3, 2),
        (
            "stabilize - old recommendations",
            [rec(10, 10), rec(4, 1), rec(5, 2), rec(9, 9)],
            3,
            5,
            4,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_normalize_desired_replicas(
    name: str, recommendations: list[Recommendation], desired: int, expected: int, log_length: int
) -> None:
    log = list(recommendations)
    assert stabilize_recommendation(log, desired, 5 * MINUTE, NOW) == expected
    assert len(log) == log_length


@dataclass(frozen=True)
class BehaviorCase:
    name: str
    recommendations: list[Recommendation]
    current: int
    desired: int
    expected: int
    expected_log: list[int] | None = None
    up_window: int = 0
    down_window: int = 0


NORMALIZE_WITH_BEHAVIOR = [
    BehaviorCase("empty recommendations for scaling down", [], 100, 5, 5, [5]),
    BehaviorCase(
        "simple scale down stabilization",
        [rec(4, 2), rec(5, 1)],
        100,
        3,
        5,
        [4, 5, 3],
        down_window=3 * 60,
    ),
    BehaviorCase(
        "simple scale up stabilization",
        [rec(4, 2), rec(5, 1)],
        1,
        7,
        4,
        [4, 5, 7],
        up_window=5 * 60,
    ),
    BehaviorCase(
        "no scale down stabilization",
        [rec(1, 2), rec(2, 1)],
        100,
        3,
        3,
        [1, 2, 3],
        up_window=5 * 60,
    ),
    BehaviorCase(
        "no scale up stabilization",
        [rec(4, 2), rec(5, 1)],
        1,
        3,
        3,
        [4, 5, 3],
        down_window=5 * 60,
    ),
    BehaviorCase(
        "no scale down stabilization, reuse recommendation element",
        [rec(10, 10), rec(9, 9)],
        100,
        3,
        3,
        [10, 3],
    ),
    BehaviorCase(
        "no scale up stabilization, reuse recommendation element",
        [rec(10, 10), rec(9, 9)],
        1,
        100,
        100,
        [10, 100],
    ),
    BehaviorCase(
        "scale down stabilization, reuse one of obsolete recommendation element",
        [rec(10, 10), rec(4, 1), rec(5, 2), rec(9, 9)],
        100,
        3,
        5,
        [10, 4, 5, 3],
        down_window=3 * 60,
    ),
    BehaviorCase(
        "scale up stabilization, reuse one of obsolete recommendation element",
        [rec(10, 100), rec(6, 1), rec(5, 2), rec(9, 3)],
        1,
        100,
        5,
        [100, 6, 5, 9],
        up_window=300,
    ),
    BehaviorCase(
        "scale up and down stabilization, do not scale up when prenormalized rec goes down",
        [rec(2, 100), rec(3, 3)],
        2,
        1,
        2,
        up_window=300,
        down_window=300,
    ),
    BehaviorCase(
        "scale up and down stabilization, do not scale down when prenormalized rec goes up",
        [rec(2, 100), rec(1, 3)],
        2,
        3,
        2,
        up_window=300,
        down_window=300,
    ),
]


@pytest.mark.parametrize("case", NORMALIZE_WITH_BEHAVIOR, ids=lambda c: c.name)
def test_normalize_desired_replicas_with_behavior(case: BehaviorCase) -> None:
    log = list(case.recommendations)
    got, _ = stabilize_recommendation_with_behaviors(
        log, case.desired, case.current, case.up_window, case.down_window, NOW
    )
    assert got == case.expected
    if case.expected_log is not None:
        assert [r.replicas for r in log] == case.expected_log


@pytest.mark.parametrize(
    ("current", "desired", "minimum", "maximum", "expected", "condition", "annotation"),
    [
        (5, 7, 3, 8, 7, "DesiredWithinRange", "prenormalized desired replicas within range"),
        (3, 1, 2, 8, 2, "TooFewReplicas", "prenormalized desired replicas < minReplicas"),
        (
            1,
            0,
            0,
            10,
            0,
            "DesiredWithinRange",
            "prenormalized desired zeroed replicas within range",
        ),
        (
            20,
            1000,
            1,
            10,
            10,
            "TooManyReplicas",
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        ),
        (
            3,
            1000,
            1,
            2000,
            24,
            "ScaleUpLimit",
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_convert_desired_replicas_with_rules(
    current: int,
    desired: int,
    minimum: int,
    maximum: int,
    expected: int,
    condition: str,
    annotation: str,
) -> None:
    # calculateScaleUpLimit(3) with the test file's scaleUpLimitFactor = 8: max(24, 4).
    assert convert_desired_replicas_with_rules(current, desired, minimum, maximum, 8.0, 4.0) == (
        expected,
        condition,
    )


@dataclass(frozen=True)
class RulesCase:
    name: str
    current: int
    desired: int
    minimum: int
    maximum: int
    expected: int
    condition: str
    up_rules: ScalingRules | None = None
    down_rules: ScalingRules | None = None
    up_events: list[ScaleEvent] = field(default_factory=list)
    down_events: list[ScaleEvent] = field(default_factory=list)


G = generate_scaling_rules
U = uniform_events
SCALING_WITH_RULES = [
    RulesCase("prenormalized desired replicas within range", 5, 7, 3, 8, 7, "DesiredWithinRange"),
    RulesCase("prenormalized desired replicas < minReplicas", 3, 1, 2, 8, 2, "TooFewReplicas"),
    RulesCase(
        "prenormalized desired replicas within range when minReplicas is 0",
        1, 0, 0, 10, 0, "DesiredWithinRange",
    ),
    RulesCase(
        "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        20, 1000, 1, 10, 10, "TooManyReplicas",
    ),
    RulesCase(
        "desired replica count is more than the maximum replica count",
        100, 1000, 100, 150, 150, "TooManyReplicas",
    ),
    RulesCase(
        "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
        3, 1000, 1, 2000, 4, "ScaleUpLimit", up_rules=G(0, 0, 1, 60, 0),
    ),
    RulesCase("scaleUp with default behavior", 10, 50, 1, 1000, 20, "ScaleUpLimit"),
    RulesCase(
        "scaleUp with pods policy larger than percent policy",
        10, 500, 1, 1000, 110, "ScaleUpLimit", up_rules=G(100, 60, 100, 60, 0),
    ),
    RulesCase(
        "scaleUp with percent policy larger than pods policy",
        10, 500, 1, 1000, 20, "ScaleUpLimit", up_rules=G(2, 60, 100, 60, 0),
    ),
    RulesCase(
        "scaleUp with spec MaxReplicas limitation with large pod policy",
        10, 50, 1, 1000, 50, "DesiredWithinRange", up_rules=G(100, 60, 0, 0, 0),
    ),
    RulesCase(
        "scaleUp with spec MaxReplicas limitation with large percent policy",
        10, 50, 1, 1000, 50, "DesiredWithinRange", up_rules=G(10000, 60, 0, 0, 0),
    ),
    RulesCase(
        "scaleUp with pod policy limitation",
        10, 50, 1, 1000, 40, "ScaleUpLimit", up_rules=G(30, 60, 0, 0, 0),
    ),
    RulesCase(
        "scaleUp with percent policy limitation",
        10, 50, 1, 1000, 30, "ScaleUpLimit", up_rules=G(0, 0, 200, 60, 0),
    ),
    RulesCase(
        "scaleDown with percent policy larger than pod policy",
        100, 2, 1, 1000, 80, "ScaleDownLimit", down_rules=G(20, 60, 1, 60, 300),
    ),
    RulesCase(
        "scaleDown with pod policy larger than percent policy",
        100, 2, 1, 1000, 98, "ScaleDownLimit", down_rules=G(2, 60, 1, 60, 300),
    ),
    RulesCase(
        "scaleDown with spec MinReplicas limitation with large pod policy",
        10, 0, 1, 1000, 1, "TooFewReplicas", down_rules=G(100, 60, 0, 0, 300),
    ),
    RulesCase(
        "scaleDown with spec MinReplicas limitation with large percent policy",
        10, 2, 5, 1000, 5, "TooFewReplicas", down_rules=G(0, 0, 100, 60, 300),
    ),
    RulesCase(
        "scaleDown with pod policy limitation",
        10, 2, 1, 1000, 5, "ScaleDownLimit", down_rules=G(5, 60, 0, 0, 300),
    ),
    RulesCase(
        "scaleDown with percent policy limitation",
        10, 5, 1, 1000, 5, "DesiredWithinRange", down_rules=G(0, 0, 50, 60, 300),
    ),
    RulesCase(
        "scaleUp with spec MaxReplicas limitation with large pod policy and events",
        100, 500, 1, 200, 200, "TooManyReplicas",
        up_rules=G(300, 60, 0, 0, 0), up_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleUp with spec MaxReplicas limitation with large percent policy and events",
        100, 500, 1, 200, 200, "TooManyReplicas",
        up_rules=G(0, 0, 10000, 60, 0), up_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent "
        "scale up events",
        100, 500, 1, 1000, 100, "ScaleUpLimit",
        up_rules=G(5, 120, 0, 0, 0), up_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleUp with pod policy and previous scale up events",
        100, 500, 1, 1000, 235, "ScaleUpLimit",
        up_rules=G(150, 120, 0, 0, 0), up_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleUp with percent policy and previous scale up events",
        100, 500, 1, 1000, 255, "ScaleUpLimit",
        up_rules=G(0, 0, 200, 120, 0), up_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleUp with percent policy and previous scale up and down events",
        6, 24, 1, 1000, 16, "ScaleUpLimit",
        up_rules=G(0, 0, 300, 300, 0), up_events=U([4], 120), down_events=U([2], 120),
    ),
    RulesCase(
        "scaleDown with default policy and previous events",
        10, 5, 1, 1000, 5, "DesiredWithinRange", down_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
        100, 0, 1, 1000, 1, "TooFewReplicas",
        down_rules=G(115, 120, 0, 0, 300), down_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
        100, 0, 5, 1000, 5, "TooFewReplicas",
        down_rules=G(130, 120, 0, 0, 300), down_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
        100, 2, 5, 1000, 5, "TooFewReplicas",
        down_rules=G(0, 0, 100, 120, 300), down_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleDown with pod policy limitation and previous events",
        100, 2, 1, 1000, 100, "ScaleDownLimit",
        down_rules=G(5, 120, 0, 0, 300), down_events=U([1, 5, 9], 120),
    ),
    RulesCase(
        "scaleDown with percent policy limitation and previous events",
        100, 0, 1, 1000, 56, "ScaleDownLimit",
        down_rules=G(0, 0, 50, 120, 300), down_events=U([2, 4, 6], 120),
    ),
    RulesCase(
        "scaleDown with percent policy and previous scale up and down events",
        10, 1, 1, 1000, 6, "ScaleDownLimit",
        down_rules=G(0, 0, 50, 180, 0), up_events=U([2], 120), down_events=U([4], 120),
    ),
    RulesCase(
        "scaleDown with previous events preventing further scale down",
        100, 0, 1, 1000, 100, "ScaleDownLimit",
        down_rules=G(0, 0, 10, 120, 300), down_events=U([10, 10, 10], 120),
    ),
    RulesCase(
        "scaleDown with with previous events still allowing more scale down",
        10, 5, 1, 1000, 5, "DesiredWithinRange",
        down_rules=G(0, 0, 1000, 120, 300), down_events=U([10, 10, 10], 120),
    ),
    RulesCase(
        "check 'outdated' flag for events for one behavior for up",
        100, 200, 1, 1000, 200, "DesiredWithinRange",
        up_rules=G(1000, 60, 0, 0, 0), up_events=U([8, 12, 9, 11], 120),
    ),
    RulesCase(
        "check that events were not marked 'outdated' for two different policies in the "
        "behavior for up",
        100, 200, 1, 1000, 200, "DesiredWithinRange",
        up_rules=G(1000, 120, 100, 60, 0), up_events=U([8, 12, 9, 11], 120),
    ),
    RulesCase(
        "check that events were marked 'outdated' for two different policies in the behavior "
        "for up",
        100, 200, 1, 1000, 200, "DesiredWithinRange",
        up_rules=G(1000, 30, 100, 60, 0), up_events=U([8, 12, 9, 11], 120),
    ),
    RulesCase(
        "check 'outdated' flag for events for one behavior for down",
        100, 5, 1, 1000, 5, "DesiredWithinRange",
        down_rules=G(1000, 60, 0, 0, 300), down_events=U([8, 12, 9, 11], 120),
    ),
    RulesCase(
        "check that events were not marked 'outdated' for two different policies in the "
        "behavior for down",
        100, 5, 1, 1000, 5, "DesiredWithinRange",
        down_rules=G(1000, 120, 100, 60, 300), down_events=U([8, 12, 9, 11], 120),
    ),
    RulesCase(
        "check that events were marked 'outdated' for two different policies in the behavior "
        "for down",
        100, 5, 1, 1000, 5, "DesiredWithinRange",
        down_rules=G(1000, 30, 100, 60, 300), down_events=U([8, 12, 9, 11], 120),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", SCALING_WITH_RULES, ids=lambda c: c.name)
def test_scaling_with_rules(case: RulesCase) -> None:
    assert convert_desired_replicas_with_behavior_rate(
        case.current,
        case.desired,
        case.minimum,
        case.maximum,
        generate_scale_up_rules(case.up_rules),
        generate_scale_down_rules(case.down_rules),
        case.up_events,
        case.down_events,
        NOW,
    ) == (case.expected, case.condition)
