"""Upstream's scale-event and policy-limit cases.

Source: kubernetes ``pkg/controller/podautoscaler/horizontal_test.go`` (revision in
``infra/autoscaler/README.md``): ``TestStoreScaleEvents``,
``TestCalculateScaleUpLimitWithScalingRules``, ``TestCalculateScaleDownLimitWithBehaviors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from autoscaler_model import (
    Behavior,
    PolicyType,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
)
from autoscaler_model.behavior import (
    DEFAULT_SCALE_DOWN_RULES,
    DEFAULT_SCALE_UP_RULES,
    replicas_change_per_period,
    scale_down_limit,
    scale_up_limit,
    store_scale_event,
)

from .scenario import NOW, generate_scaling_rules


@dataclass(frozen=True)
class StoreCase:
    name: str
    previous: list[tuple[int, float]]
    expected: list[tuple[int, bool]]
    rules: ScalingRules | None
    expected_change: int


STORE_SCALE_EVENTS = [
    StoreCase("empty entries with default behavior", [], [], None, 0),
    StoreCase(
        "empty entries with two-policy-behavior",
        [],
        [(5, False)],
        generate_scaling_rules(10, 60, 100, 60, 0),
        0,
    ),
    StoreCase(
        "one outdated entry to be kept untouched without behavior",
        [(7, 61)],
        [(7, False)],
        None,
        0,
    ),
    StoreCase(
        "one outdated entry to be replaced with behavior",
        [(7, 61)],
        [(5, False)],
        generate_scaling_rules(10, 60, 100, 60, 0),
        0,
    ),
    StoreCase(
        "one actual entry to be not touched with behavior",
        [(7, 58)],
        [(7, False), (5, False)],
        generate_scaling_rules(10, 60, 100, 60, 0),
        7,
    ),
    StoreCase(
        "two entries, one of them to be replaced",
        [(7, 61), (6, 59)],
        [(5, False), (6, False)],
        generate_scaling_rules(10, 60, 0, 0, 0),
        6,
    ),
    StoreCase(
        "replace one entry, use policies with different periods",
        [(8, 29), (6, 59), (7, 61), (9, 61)],
        [(8, False), (6, False), (7, True), (5, False)],
        generate_scaling_rules(10, 60, 100, 30, 0),
        14,
    ),
    StoreCase(
        "two entries, both actual",
        [(7, 58), (6, 59)],
        [(7, False), (6, False), (5, False)],
        generate_scaling_rules(10, 120, 100, 30, 0),
        13,
    ),
]


@pytest.mark.parametrize("case", STORE_SCALE_EVENTS, ids=lambda c: c.name)
@pytest.mark.parametrize("direction", ["up", "down"])
def test_store_scale_events(case: StoreCase, direction: str) -> None:
    events = [ScaleEvent(change, NOW - ago) for change, ago in case.previous]
    assert replicas_change_per_period(60, events, NOW) == case.expected_change
    if case.rules is not None:
        # storeScaleEvent(behavior, key, 10, 10 +/- 5) stores a change of 5 either way.
        store_scale_event(events, case.rules, 5, NOW)
    assert [(e.replica_change, e.outdated) for e in events] == case.expected, direction


MIN_RULES = ScalingRules(
    300,
    SelectPolicy.MIN,
    (ScalingPolicy(PolicyType.PODS, 2, 60), ScalingPolicy(PolicyType.PERCENT, 50, 60)),
)


def test_calculate_scale_up_limit_with_scaling_rules() -> None:
    assert scale_up_limit(1, [], [], MIN_RULES, NOW) == 2


def test_calculate_scale_down_limit_with_behaviors() -> None:
    assert scale_down_limit(5, [], [], MIN_RULES, NOW) == 3


def test_disabled_select_policy_allows_no_change() -> None:
    """``selectPolicy: Disabled`` returns currentReplicas from both limit functions."""
    disabled = ScalingRules(0, SelectPolicy.DISABLED, DEFAULT_SCALE_UP_RULES.policies)
    assert scale_up_limit(7, [], [], disabled, NOW) == 7
    assert scale_down_limit(7, [], [], disabled, NOW) == 7


def test_defaults_fill_only_unset_fields() -> None:
    """``GenerateHPAScale{Up,Down}Rules``: Pods 4 / Percent 100 per 15 s up, 100% down."""
    behavior = Behavior.from_spec({"scaleDown": {"stabilizationWindowSeconds": 60}})
    assert behavior is not None
    assert behavior.scale_up == DEFAULT_SCALE_UP_RULES
    assert behavior.scale_down.stabilization_window_seconds == 60
    assert behavior.scale_down.policies == DEFAULT_SCALE_DOWN_RULES.policies
    assert behavior.scale_down.select_policy is SelectPolicy.MAX
    assert behavior.with_downscale_window(300).scale_down.stabilization_window_seconds == 60
    unset = Behavior.of(None, None).with_downscale_window(300)
    assert unset.scale_down.stabilization_window_seconds == 300
