"""Named load profiles: ``loadtest/profiles/<name>.toml`` read into typed, frozen settings.

A profile sets the shape (``[shape]``), the delivery model (``[delivery]``), the user
population (``[population]``), the update mix (``[mix]``) and the gate thresholds (``[gates]``
and ``[gates.prometheus]``). Overrides ``table.key=value`` (a TOML value; a bare word is a
string) change single values before the profile is checked, so a derived profile (e.g.
capacity's ramp) passes the same checks; flags override more (see ``options.py``).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bot_contract import traffic
from bot_contract.webhook import MAX_CONNECTIONS_DEFAULT, MAX_CONNECTIONS_MAX, MAX_CONNECTIONS_MIN
from loadtest.shapes import RateShape, build_shape

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Where the named profiles live (``loadtest/profiles``).
PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"

Model = Literal["telegram", "open"]


@dataclass(frozen=True)
class DeliveryConfig:
    """How updates reach the webhook (see ``delivery.py``)."""

    model: Model = "telegram"
    max_connections: int = MAX_CONNECTIONS_DEFAULT
    timeout_s: float = 60.0
    duplicate_ratio: float = 0.0
    max_pending: int = 1_000_000

    def __post_init__(self) -> None:
        if self.model not in ("telegram", "open"):
            raise ValueError(f"delivery model must be 'telegram' or 'open', not {self.model!r}")
        if not MAX_CONNECTIONS_MIN <= self.max_connections <= MAX_CONNECTIONS_MAX:
            raise ValueError(
                f"max_connections must be {MAX_CONNECTIONS_MIN}..{MAX_CONNECTIONS_MAX} "
                f"(Telegram's range), not {self.max_connections}"
            )
        if not 0 <= self.duplicate_ratio <= 1 or self.timeout_s <= 0 or self.max_pending < 1:
            raise ValueError("duplicate_ratio in 0..1, timeout_s > 0, max_pending >= 1")


@dataclass(frozen=True)
class GateConfig:
    """SLO and Prometheus thresholds; ``None`` switches a gate off.

    ``p95_ms``/``p99_ms`` map an update type (or ``"*"`` for every type) to milliseconds.
    """

    p95_ms: dict[str, float] = field(default_factory=dict)
    p99_ms: dict[str, float] = field(default_factory=dict)
    error_ratio: float | None = None
    lag_p99_ms: float | None = None
    min_achieved_ratio: float | None = None
    replies: bool = False
    bot_p99_ms: float | None = None
    bot_error_ratio: float | None = None
    min_replicas: int | None = None
    scale_up_within_s: float | None = None
    scale_down_within_s: float | None = None
    max_pinned_s: float | None = None


@dataclass(frozen=True)
class Profile:
    """Everything a run needs besides the target's address."""

    name: str
    description: str
    shape: RateShape
    delivery: DeliveryConfig
    population: traffic.PopulationConfig
    mix: traffic.Mix
    gates: GateConfig


def profile_names() -> list[str]:
    """The names of the profiles shipped in ``loadtest/profiles``."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _only(cls: type, table: dict[str, Any], where: str) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    unknown = set(table) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(known)})")
    return table


def apply_override(data: dict[str, Any], override: str) -> None:
    """Set ``[table.]key=value`` in a profile's TOML data (a TOML value, or a bare word).

    Raises:
        ValueError: not of the form ``table.key=value``.
    """
    key, equals, raw = override.partition("=")
    *tables, name = key.strip().split(".")
    if not equals or not all(tables) or not name:
        raise ValueError(f"override {override!r}: expected table.key=value, e.g. shape.start=100")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # a bare word, e.g. delivery.model=open
    table = data
    for part in tables:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise ValueError(f"override {override!r}: {part!r} is not a table")
    table[name] = value


def load_profile(name_or_path: str, overrides: Sequence[str] = ()) -> Profile:
    """Load a profile by name (``peak``) or by path to a TOML file, with ``overrides`` applied.

    Raises:
        ValueError: the profile does not exist, an override is malformed, or a value is invalid.
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ValueError(f"no profile {name_or_path!r}; choose one of {profile_names()}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for override in overrides:
        apply_override(data, override)
    gates = dict(data.get("gates", {}))
    gates.update(gates.pop("prometheus", {}))
    mix = data.get("mix")
    commands = data.get("commands")
    try:
        return Profile(
            name=path.stem,
            description=str(data.get("description", "")),
            shape=build_shape(data.get("shape", {})),
            delivery=DeliveryConfig(**_only(DeliveryConfig, data.get("delivery", {}), "delivery")),
            population=traffic.PopulationConfig(
                **_only(traffic.PopulationConfig, data.get("population", {}), "population")
            ),
            mix=traffic.Mix.from_mapping(mix, commands) if mix else traffic.Mix.default(),
            gates=GateConfig(**_only(GateConfig, gates, "gates")),
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"profile {path}: {error}") from None


def describe_profile(profile: Profile) -> dict[str, Any]:
    """The resolved profile as JSON-ready data (``python -m loadtest profile``)."""
    return {
        "name": profile.name,
        "description": profile.description,
        "shape": profile.shape.describe(),
        "duration_s": profile.shape.duration_s,
        "delivery": dataclasses.asdict(profile.delivery),
        "gates": dataclasses.asdict(profile.gates),
    }
