"""The emulator's configuration: flood-control limits and fault injection, as frozen dataclasses.

Defaults are Telegram's documented limits (core.telegram.org/bots/faq): about one message per
second in a chat (short bursts tolerated), 20 messages per minute in a group, about 30 messages
per second overall. Both parts can be replaced at run time through the control endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Telegram's FAQ: "avoid sending more than one message per second" in a chat.
PER_CHAT_RATE_DEFAULT = 1.0
#: "We may allow short bursts that go over this limit": messages a quiet chat may send at once.
PER_CHAT_BURST_DEFAULT = 3
#: "In a group, bots are not be able to send more than 20 messages per minute."
GROUP_PER_MINUTE_DEFAULT = 20.0
#: "not able to broadcast more than about 30 messages per second".
GLOBAL_RATE_DEFAULT = 30.0
#: ``allow_paid_broadcast``: "up to 1000 messages per second, ignoring broadcasting limits".
PAID_BROADCAST_RATE_DEFAULT = 1000.0


@dataclass(frozen=True)
class FloodConfig:
    """Telegram's flood control: per-chat, per-group and global message budgets.

    Each budget is a leaky bucket (the same model as PTB's ``AIORateLimiter``, built on
    ``aiolimiter``): ``rate`` messages per second drain it, and it holds ``burst`` messages, so
    a quiet key may send ``burst`` messages at once and then ``rate`` per second.

    Attributes:
        enabled: When false no call is ever answered 429 (setWebhook's 1/s limit included).
        per_chat_rate: Messages per second allowed in one chat (private or group).
        per_chat_burst: Messages a quiet chat may send back to back.
        group_per_minute: Messages per minute allowed in one group (``chat_id < 0`` or ``@name``).
        group_burst: Messages a quiet group may send back to back (default: a minute's budget).
        global_rate: Messages per second allowed across all chats of one bot.
        global_burst: Messages an idle bot may send back to back (default: a second's budget).
        paid_broadcast_rate: Messages per second for calls with ``allow_paid_broadcast``, which
            use this budget instead of the global one (the per-chat and group budgets still apply).
    """

    enabled: bool = True
    per_chat_rate: float = PER_CHAT_RATE_DEFAULT
    per_chat_burst: int = PER_CHAT_BURST_DEFAULT
    group_per_minute: float = GROUP_PER_MINUTE_DEFAULT
    group_burst: int | None = None
    global_rate: float = GLOBAL_RATE_DEFAULT
    global_burst: int | None = None
    paid_broadcast_rate: float = PAID_BROADCAST_RATE_DEFAULT

    def __post_init__(self) -> None:
        for name in ("per_chat_rate", "group_per_minute", "global_rate", "paid_broadcast_rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("per_chat_burst", "group_burst", "global_burst"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def effective_group_burst(self) -> int:
        """The group bucket's size: ``group_burst`` or one minute's budget."""
        return self.group_burst or max(1, int(self.group_per_minute))

    @property
    def effective_global_burst(self) -> int:
        """The global bucket's size: ``global_burst`` or one second's budget."""
        return self.global_burst or max(1, int(self.global_rate))

    def to_json(self) -> dict[str, Any]:
        """The configuration as the control endpoint shows it."""
        return {
            "enabled": self.enabled,
            "per_chat_rate": self.per_chat_rate,
            "per_chat_burst": self.per_chat_burst,
            "group_per_minute": self.group_per_minute,
            "group_burst": self.effective_group_burst,
            "global_rate": self.global_rate,
            "global_burst": self.effective_global_burst,
            "paid_broadcast_rate": self.paid_broadcast_rate,
        }


@dataclass(frozen=True)
class MethodFaults:
    """Faults for one method (or the default for all methods).

    Attributes:
        latency_ms: Fixed delay added before answering.
        jitter_ms: An extra delay drawn uniformly from ``[0, jitter_ms]``.
        error_ratio: Share of valid calls answered with an injected error instead (0..1).
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_ratio: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("latency_ms and jitter_ms must not be negative")
        if not 0.0 <= self.error_ratio <= 1.0:
            raise ValueError("error_ratio must be between 0 and 1")

    @property
    def active(self) -> bool:
        """Whether this entry injects anything at all."""
        return bool(self.latency_ms or self.jitter_ms or self.error_ratio)

    def to_json(self) -> dict[str, float]:
        """The entry as the control endpoint shows it."""
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "error_ratio": self.error_ratio,
        }


@dataclass(frozen=True)
class FaultConfig:
    """Latency and error injection: a default plus per-method overrides.

    Attributes:
        default: Faults for every method without its own entry.
        methods: Per-method entries, keyed by the method name in lower case.
        error_code: HTTP status (and ``error_code``) of injected errors.
        seed: Seed of the random source, for reproducible runs (None: random).
    """

    default: MethodFaults = field(default_factory=MethodFaults)
    methods: dict[str, MethodFaults] = field(default_factory=dict)
    error_code: int = 500
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.error_code not in ERROR_DESCRIPTIONS:
            raise ValueError(f"error_code must be one of {sorted(ERROR_DESCRIPTIONS)}")

    def for_method(self, method_key: str) -> MethodFaults:
        """The faults that apply to ``method_key`` (a lower-case method name)."""
        return self.methods.get(method_key, self.default)

    def to_json(self) -> dict[str, Any]:
        """The configuration as the control endpoint shows it."""
        return {
            **self.default.to_json(),
            "error_code": self.error_code,
            "seed": self.seed,
            "methods": {name: faults.to_json() for name, faults in sorted(self.methods.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        """Build from the control endpoint's JSON (the shape :meth:`to_json` returns).

        Raises:
            ValueError: On unknown keys or out-of-range values.
        """
        known = {"latency_ms", "jitter_ms", "error_ratio", "error_code", "seed", "methods"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        methods_json = data.get("methods") or {}
        if not isinstance(methods_json, dict):
            raise ValueError("methods must be an object of method name -> faults")
        methods = {str(name).lower(): _method_faults(value) for name, value in methods_json.items()}
        return cls(
            default=_method_faults(data),
            methods=methods,
            error_code=int(data.get("error_code", 500)),
            seed=None if data.get("seed") is None else int(data["seed"]),
        )


#: Injected errors use the descriptions real Bot API front ends answer with.
ERROR_DESCRIPTIONS: dict[int, str] = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _method_faults(data: Any) -> MethodFaults:
    if not isinstance(data, dict):
        raise ValueError("each faults entry must be an object")
    allowed = {"latency_ms", "jitter_ms", "error_ratio"}
    extra = set(data) - allowed - {"error_code", "seed", "methods"}
    if extra:
        raise ValueError(f"unknown keys: {sorted(extra)}")
    return MethodFaults(
        latency_ms=float(data.get("latency_ms", 0.0)),
        jitter_ms=float(data.get("jitter_ms", 0.0)),
        error_ratio=float(data.get("error_ratio", 0.0)),
    )


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything :func:`botapi_emulator.create_app` needs.

    Attributes:
        flood: Flood-control limits.
        faults: Latency and error injection.
        token: When set, only this bot token is accepted (others get 401).
        strict_webhook_url: Require an HTTPS webhook on ports 80/88/443/8443, as the cloud
            Bot API does. Off by default: like a ``--local`` Bot API server, any http(s) URL works.
        strict_parameters: Answer 400 to parameters the method does not have. Telegram ignores
            them (the default), but a strict run catches typos in the bot's calls.
        max_recorded: How many replies (and as many callback answers) the reply record keeps;
            older ones are evicted, and the count of evictions is reported.
        report_every_s: Write a one-line summary to stderr this often while calls arrive
            (0: never).
    """

    flood: FloodConfig = field(default_factory=FloodConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    token: str | None = None
    strict_webhook_url: bool = False
    strict_parameters: bool = False
    max_recorded: int = 2_000_000
    report_every_s: float = 0.0

    def __post_init__(self) -> None:
        if self.max_recorded < 1:
            raise ValueError("max_recorded must be at least 1")
        if self.report_every_s < 0:
            raise ValueError("report_every_s must not be negative")
