"""Go's fixed-width integer and float semantics, which the controller's arithmetic relies on.

Python integers never overflow and Python raises on a float division by zero; Go wraps int64,
truncates integer division toward zero and yields ``±Inf``/``NaN`` for float division by zero.
The model reproduces those so that upstream's overflow and zero-replica cases come out the same.
"""

from __future__ import annotations

import math

MAX_INT32 = 2**31 - 1
MIN_INT32 = -(2**31)
MAX_INT64 = 2**63 - 1
MIN_INT64 = -(2**63)


def quo(a: int, b: int) -> int:
    """Go's integer division ``a / b``: truncation toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def wrap_int64(value: int) -> int:
    """Two's-complement wraparound of an int64 addition."""
    return (value - MIN_INT64) % 2**64 + MIN_INT64


def fdiv(a: float, b: float) -> float:
    """IEEE float division as Go does it: ``x/0`` is ``±Inf`` and ``0/0`` is ``NaN``."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def saturate_int32(value: float) -> int:
    """``ceil`` of a float replica count as int32, saturated at the int32 rails.

    Upstream saturates explicitly where it guards (``getUsageRatioReplicaCount``,
    ``GetExternalPerPodMetricReplicas``); elsewhere Go's out-of-range float-to-int32 conversion
    is implementation-defined, and the model saturates there too.
    """
    if math.isnan(value):
        return MIN_INT32
    if value >= MAX_INT32:
        return MAX_INT32
    if value <= MIN_INT32:
        return MIN_INT32
    return math.ceil(value)


def clamp_int32(value: int) -> int:
    """An integer held to the int32 range."""
    return max(MIN_INT32, min(MAX_INT32, value))
