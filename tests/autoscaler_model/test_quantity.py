"""``resource.Quantity`` parsing as the controller reads it.

Source: k8s.io/apimachinery ``pkg/api/resource`` (``quantity.go``: the suffixes ``n u m k M G T
P E``, ``Ki``..``Ei`` and ``e<n>`` exponents; ``MilliValue`` is ``ScaledValue(Milli)``, which
rounds up).
"""

from __future__ import annotations

import pytest

from autoscaler_model import milli_value, parse_quantity


@pytest.mark.parametrize(
    ("text", "milli"),
    [
        ("500m", 500),
        ("1", 1000),
        ("1.5", 1500),
        ("0.1", 100),
        ("2Ki", 2048000),
        ("1e3", 1000000),
        ("1n", 1),  # rounds up
        ("15.0", 15000),
        (8, 8000),
    ],
)
def test_milli_value(text: str | int, milli: int) -> None:
    assert milli_value(text) == milli


def test_tolerance_quantity() -> None:
    assert parse_quantity("0.05") == pytest.approx(0.05)
    assert parse_quantity("50m") == pytest.approx(0.05)


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3x", "--1", "1Zi"])
def test_bad_quantity_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        milli_value(bad)
