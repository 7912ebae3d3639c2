"""The tolerance band's edges.

Source: KEP-4951 (configurable HPA tolerance), which states the check as
``(1.0-downTolerance) <= usageRatio && usageRatio <= (1.0+upTolerance)``; upstream's
``replica_calculator.go`` ``Tolerances.isWithin`` implements it. Upstream's tables do not probe
the edges, so these cases use ratios that are exact in binary floating point.
"""

from __future__ import annotations

import math

import pytest

from autoscaler_model import Tolerances


@pytest.mark.parametrize(
    ("ratio", "within"),
    [(0.75, True), (0.7499, False), (1.5, True), (1.5001, False), (1.0, True), (math.nan, False)],
)
def test_band_is_closed_at_both_edges(ratio: float, within: bool) -> None:
    assert Tolerances(scale_down=0.25, scale_up=0.5).is_within(ratio) is within
