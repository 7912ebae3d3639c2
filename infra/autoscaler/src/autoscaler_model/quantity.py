"""Kubernetes ``resource.Quantity`` strings ("500m", "1.5", "2Ki", "1e3") as numbers.

The controller works in ``MilliValue()``: the quantity times 1000, rounded up to an integer
(apimachinery ``Quantity.MilliValue`` → ``ScaledValue(Milli)``, which rounds up).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_PATTERN = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")


def _decimal(quantity: str | int | float) -> Decimal:
    if isinstance(quantity, bool):
        raise ValueError(f"not a quantity: {quantity!r}")
    if isinstance(quantity, int | float):
        return Decimal(str(quantity))
    match = _PATTERN.match(quantity.strip())
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        value = Decimal(number)
    except InvalidOperation as exc:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}") from exc
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return value * Decimal(10) ** int(suffix[1:])
    return value * _DECIMAL[suffix]


def parse_quantity(quantity: str | int | float) -> float:
    """The quantity's value as a float (for tolerances and thresholds)."""
    return float(_decimal(quantity))


def milli_value(quantity: str | int | float) -> int:
    """``Quantity.MilliValue()``: the value in milli-units, rounded up."""
    return math.ceil(_decimal(quantity) * 1000)
