"""The emulator's mutable state: webhooks, flood buckets, the reply record and the counters.

Everything here is bounded: per-chat data is swept once drained (see :mod:`.flood`), the reply
record keeps a fixed number of keys, and counters are keyed by method names the emulator knows.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botapi_emulator.faults import FaultInjector
from botapi_emulator.flood import FloodControl
from botapi_emulator.records import ReplyRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from botapi_emulator.config import EmulatorConfig, FaultConfig, FloodConfig

#: Bots (tokens) tracked at once; a long run uses one, tests a handful.
_MAX_BOTS = 1024
#: Distinct (method, unknown parameter) pairs counted; beyond that they are lumped together.
_MAX_UNKNOWN_KEYS = 256


@dataclass
class Webhook:
    """A bot's webhook as setWebhook left it (``url == ""``: none)."""

    url: str = ""
    secret_token: str = ""
    max_connections: int = 40
    ip_address: str = ""
    allowed_updates: list[str] | None = None
    has_custom_certificate: bool = False

    def same_as(self, other: Webhook) -> bool:
        """Whether ``other`` changes nothing (Telegram then answers "Webhook is already set")."""
        return (
            self.url == other.url
            and self.secret_token == other.secret_token
            and self.max_connections == other.max_connections
            and self.ip_address == other.ip_address
            and self.has_custom_certificate == other.has_custom_certificate
        )


@dataclass
class Counters:
    """Monotonic counters; ``/metrics`` shows them, the stats endpoint shows them since reset."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    rate_limited: Counter[tuple[str, str]] = field(default_factory=Counter)
    injected_errors: Counter[str] = field(default_factory=Counter)
    unknown_parameters: Counter[tuple[str, str]] = field(default_factory=Counter)

    def copy(self) -> Counters:
        """A snapshot."""
        return Counters(
            Counter(self.requests),
            Counter(self.rate_limited),
            Counter(self.injected_errors),
            Counter(self.unknown_parameters),
        )

    def count_unknown(self, method: str, names: list[str]) -> None:
        """Count parameters the method does not have (cardinality-capped)."""
        for name in names:
            key = (method, name)
            if key not in self.unknown_parameters and len(self.unknown_parameters) >= (
                _MAX_UNKNOWN_KEYS
            ):
                key = (method, "<other>")
            self.unknown_parameters[key] += 1


class EmulatorState:
    """All mutable state of one emulator.

    Args:
        config: The initial configuration.
        clock: Monotonic seconds, for flood control (tests pass a manual clock).
        wall_clock: Unix seconds, for ``date`` fields.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.wall_clock = wall_clock
        self.started = wall_clock()
        self.faults = FaultInjector(config.faults)
        self.counters = Counters()
        self._baseline = Counters()
        self.webhooks: dict[int, Webhook] = {}
        self._flood: dict[int, FloodControl] = {}
        self.record = ReplyRecord(config.max_recorded)
        self.messages_sent = 0
        self._baseline_messages_sent = 0
        self._next_message_id = 1

    # --- configuration -----------------------------------------------------------------------
    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault configuration."""
        self.config = replace(self.config, faults=faults)
        self.faults.configure(faults)

    def set_flood(self, flood: FloodConfig) -> None:
        """Replace the flood-control limits (buckets start empty)."""
        self.config = replace(self.config, flood=flood)
        self._flood.clear()

    # --- per-bot state -----------------------------------------------------------------------
    def flood(self, bot_id: int) -> FloodControl:
        """The flood control of one bot."""
        control = self._flood.get(bot_id)
        if control is None:
            if len(self._flood) >= _MAX_BOTS:
                self._flood.clear()
            control = self._flood[bot_id] = FloodControl(self.config.flood)
        return control

    def webhook(self, bot_id: int) -> Webhook:
        """The webhook of one bot (none set: an empty one)."""
        hook = self.webhooks.get(bot_id)
        if hook is None:
            if len(self.webhooks) >= _MAX_BOTS:
                self.webhooks.clear()
            hook = self.webhooks[bot_id] = Webhook()
        return hook

    def next_message_id(self) -> int:
        """A fresh id for a message the bot sends (one sequence for all chats)."""
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    # --- stats -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Start the stats over: counters, the reply record and the flood buckets.

        The configuration and the webhooks stay, and ``/metrics`` counters keep counting
        (Prometheus counters only go up).
        """
        self._baseline = self.counters.copy()
        self._baseline_messages_sent = self.messages_sent
        self.record = ReplyRecord(self.config.max_recorded)
        self._flood.clear()
        self.faults.injected_latency_s = 0.0

    def stats(self) -> dict[str, Any]:
        """The counters since the last reset, as the stats endpoint answers them."""
        now, base = self.counters, self._baseline
        requests = now.requests - base.requests
        limited = now.rate_limited - base.rate_limited
        injected = now.injected_errors - base.injected_errors
        unknown = now.unknown_parameters - base.unknown_parameters
        by_method: dict[str, dict[str, int]] = {}
        by_status: Counter[str] = Counter()
        for (method, status), count in sorted(requests.items()):
            by_method.setdefault(method, {})[str(status)] = count
            by_status[str(status)] += count
        scopes: Counter[str] = Counter()
        limited_by_method: Counter[str] = Counter()
        for (method, scope), count in limited.items():
            scopes[scope] += count
            limited_by_method[method] += count
        unknown_json: dict[str, dict[str, int]] = {}
        for (method, name), count in sorted(unknown.items()):
            unknown_json.setdefault(method, {})[name] = count
        return {
            "uptime_s": round(self.wall_clock() - self.started, 3),
            "requests": {
                "total": sum(requests.values()),
                "by_status": dict(sorted(by_status.items())),
                "by_method": by_method,
            },
            "messages_sent": self.messages_sent - self._baseline_messages_sent,
            "rate_limited": {
                "total": sum(limited.values()),
                "by_scope": dict(sorted(scopes.items())),
                "by_method": dict(sorted(limited_by_method.items())),
            },
            "injected_errors": {
                "total": sum(injected.values()),
                "by_method": dict(sorted(injected.items())),
            },
            "injected_latency_s": round(self.faults.injected_latency_s, 6),
            "unknown_parameters": unknown_json,
            "replies": self.record.to_json(),
            "flood_tracked_keys": sum(f.tracked_keys for f in self._flood.values()),
            "webhooks": {
                str(bot_id): {"url": hook.url, "max_connections": hook.max_connections}
                for bot_id, hook in self.webhooks.items()
                if hook.url
            },
            "config": {
                "flood": self.config.flood.to_json(),
                "faults": self.config.faults.to_json(),
                "strict_webhook_url": self.config.strict_webhook_url,
                "strict_parameters": self.config.strict_parameters,
            },
        }
