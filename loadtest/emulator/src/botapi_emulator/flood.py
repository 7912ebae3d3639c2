"""Flood control: Telegram's per-chat, per-group and global message budgets, answered with 429.

Each budget is a leaky bucket kept as one number per key, its "theoretical arrival time" (the
GCRA form of a leaky bucket). A key whose bucket has drained is indistinguishable from a new key,
so such keys are swept away: memory stays proportional to the chats active in the last few
seconds, however long the emulator runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botapi_emulator.errors import ApiError, too_many_requests

if TYPE_CHECKING:
    from botapi_emulator.config import FloodConfig

#: Sweep drained keys once a table grows past this many (and then past twice its live size).
_SWEEP_FLOOR = 4096
_EPSILON_S = 1e-9


class LeakyBuckets:
    """Leaky buckets of one size and rate, keyed by chat or bot.

    Args:
        rate: Units per second the bucket drains.
        burst: Units the bucket holds (what a quiet key may send back to back).
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self._tat: dict[object, float] = {}
        self._sweep_at = _SWEEP_FLOOR

    def wait(self, key: object, now: float) -> float:
        """Seconds until ``key`` may send one more unit (0 when it may send now)."""
        tat = self._tat.get(key)
        if tat is None:
            return 0.0
        wait = tat - self.tolerance - now
        # Sums of 1/rate drift by a few ulps: a nanosecond is "now", or a full burst would
        # lose its last message to rounding (0.2 * 4 > 0.8).
        return wait if wait > _EPSILON_S else 0.0

    def take(self, key: object, now: float) -> None:
        """Spend one unit of ``key``'s budget."""
        tat = self._tat.get(key)
        self._tat[key] = (now if tat is None or tat < now else tat) + self.interval
        if len(self._tat) > self._sweep_at:
            self.sweep(now)

    def sweep(self, now: float) -> None:
        """Forget keys whose bucket has fully drained."""
        self._tat = {key: tat for key, tat in self._tat.items() if tat > now}
        self._sweep_at = max(_SWEEP_FLOOR, 2 * len(self._tat))

    def __len__(self) -> int:
        return len(self._tat)


@dataclass(frozen=True)
class Denial:
    """Why a call was refused: the budget's scope and the whole seconds to wait."""

    scope: str  # "chat", "group", "global", "paid" or "webhook"
    retry_after: int

    def error(self) -> ApiError:
        """The 429 answer."""
        return too_many_requests(self.retry_after, self.scope)


def is_group(chat_id: int | str) -> bool:
    """Whether a chat counts as a group for the 20/minute budget (as PTB's limiter decides)."""
    return isinstance(chat_id, str) or chat_id < 0


class FloodControl:
    """One bot's message budgets.

    Args:
        config: The limits.
    """

    def __init__(self, config: FloodConfig) -> None:
        self.config = config
        self._chat = LeakyBuckets(config.per_chat_rate, config.per_chat_burst)
        self._group = LeakyBuckets(config.group_per_minute / 60.0, config.effective_group_burst)
        self._global = LeakyBuckets(config.global_rate, config.effective_global_burst)
        paid_burst = max(1, int(config.paid_broadcast_rate))
        self._paid = LeakyBuckets(config.paid_broadcast_rate, paid_burst)
        # The server allows about one setWebhook with a URL per second (TBA Client.cpp).
        self._webhook = LeakyBuckets(1.0, 1)

    def admit_message(self, chat_id: int | str, now: float, *, paid: bool = False) -> Denial | None:
        """Admit one message to ``chat_id`` now, or say which budget refuses it.

        A refused message spends nothing, so a client that waits ``retry_after`` gets through.
        ``paid`` (``allow_paid_broadcast``) swaps the global budget for the paid one.
        """
        if not self.config.enabled:
            return None
        scope, wait = "chat", self._chat.wait(chat_id, now)
        group = is_group(chat_id)
        if group:
            group_wait = self._group.wait(chat_id, now)
            if group_wait > wait:
                scope, wait = "group", group_wait
        overall, overall_scope = (self._paid, "paid") if paid else (self._global, "global")
        global_wait = overall.wait(None, now)
        if global_wait > wait:
            scope, wait = overall_scope, global_wait
        if wait > 0.0:
            return Denial(scope, max(1, math.ceil(wait)))
        self._chat.take(chat_id, now)
        if group:
            self._group.take(chat_id, now)
        overall.take(None, now)
        return None

    def admit_set_webhook(self, now: float) -> Denial | None:
        """Admit one setWebhook with a non-empty URL (about one per second)."""
        if not self.config.enabled:
            return None
        if self._webhook.wait(None, now) > 0.0:
            return Denial("webhook", 1)
        self._webhook.take(None, now)
        return None

    @property
    def tracked_keys(self) -> int:
        """Keys held right now (chats and groups still inside their budget window)."""
        return len(self._chat) + len(self._group)
