"""Delivery counters and histograms that load generators keep and the master adds up.

Workers :meth:`Tally.drain` their counts into Locust's ``report_to_master`` payload every few
seconds; the master :meth:`Tally.merge`\\ s them. The local runner uses one tally for both.
Histograms are ``{bucket_ms: count}`` dicts bucketed by :func:`bucket_ms` (3 significant
digits, finer than Locust's 2), so percentiles carry at most 0.5 % rounding; gates compare a
percentile's *upper* bucket edge (:func:`bucket_upper_ms`) so rounding never hides a breach.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence


def bucket_ms(response_time: int | float) -> int:
    """Round a duration in ms to about 3 significant digits (whole ms below 1 s).

    Its signature matches ``locust.stats.bucket_response_time``, which it replaces.
    """
    if response_time < 1000:
        return round(response_time)
    if response_time < 10_000:
        return int(round(response_time, -1))
    if response_time < 100_000:
        return int(round(response_time, -2))
    return int(round(response_time, -3))


def bucket_upper_ms(bucket: int) -> float:
    """The largest duration that :func:`bucket_ms` maps to ``bucket`` (its upper edge)."""
    if bucket < 1000:
        return bucket + 0.5
    if bucket < 10_000:
        return bucket + 5
    if bucket < 100_000:
        return bucket + 50
    return bucket + 500


def percentile(histogram: dict[int, int], fraction: float) -> int | None:
    """The bucket holding the ``fraction`` quantile (nearest rank), ``None`` if empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, -(-int(total * fraction * 1000) // 1000))  # ceil without float surprises
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket
    return max(histogram)


def merge_histograms(target: dict[int, int], source: dict[Any, int]) -> None:
    """Add ``source`` into ``target`` (keys may arrive as str after a JSON round trip)."""
    for bucket, count in source.items():
        key = int(bucket)
        target[key] = target.get(key, 0) + count


@dataclass
class Tally:
    """Counts by update type, the delivery-lag histogram, and the reply ledger."""

    offered: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    expired: Counter[str] = field(default_factory=Counter)
    redeliveries: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[str] = field(default_factory=Counter)  # "type|status"
    lag_ms: dict[str, dict[int, int]] = field(default_factory=dict)
    duplicates_injected: int = 0
    not_created: int = 0  # arrivals the generator skipped (max_pending reached, or overloaded)
    reply_messages: list[Sequence[int]] = field(default_factory=list)  # (chat_id, message_id)
    reply_callbacks: list[str] = field(default_factory=list)
    body_replies: Counter[str] = field(default_factory=Counter)  # outcome of webhook-answer calls
    gauges: dict[str, tuple[int, int]] = field(default_factory=dict)  # source: (pending, in flight)

    # --- recording (generator side) ---------------------------------------------------------
    def record_lag(self, kind: str, lag_s: float) -> None:
        """Count one acknowledged update's creation-to-ack time."""
        histogram = self.lag_ms.get(kind)
        if histogram is None:
            histogram = self.lag_ms[kind] = {}
        bucket = bucket_ms(lag_s * 1000)
        histogram[bucket] = histogram.get(bucket, 0) + 1

    # --- distribution -----------------------------------------------------------------------
    def drain(self) -> dict[str, Any]:
        """Everything counted since the last drain, as msgpack-friendly data; then reset."""
        data = {
            "offered": dict(self.offered),
            "acked": dict(self.acked),
            "expired": dict(self.expired),
            "redeliveries": dict(self.redeliveries),
            "deliveries": dict(self.deliveries),
            "lag_ms": self.lag_ms,
            "duplicates_injected": self.duplicates_injected,
            "not_created": self.not_created,
            "reply_messages": self.reply_messages,
            "reply_callbacks": self.reply_callbacks,
            "body_replies": dict(self.body_replies),
        }
        self.__dict__.update(Tally(gauges=self.gauges).__dict__)  # start afresh, keep the gauges
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add a drained payload from a generator."""
        for name in ("offered", "acked", "expired", "redeliveries", "deliveries", "body_replies"):
            getattr(self, name).update(data.get(name, {}))
        for kind, histogram in data.get("lag_ms", {}).items():
            merge_histograms(self.lag_ms.setdefault(kind, {}), histogram)
        self.duplicates_injected += int(data.get("duplicates_injected", 0))
        self.not_created += int(data.get("not_created", 0))
        self.reply_messages.extend(data.get("reply_messages", []))
        self.reply_callbacks.extend(data.get("reply_callbacks", []))

    # --- reading ----------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Updates created and not yet acknowledged or dropped, over all generators."""
        return sum(p for p, _ in self.gauges.values())

    @property
    def in_flight(self) -> int:
        """Webhook requests open right now, over all generators."""
        return sum(f for _, f in self.gauges.values())

    def lag_all(self) -> dict[int, int]:
        """The delivery-lag histogram over every update type."""
        merged: dict[int, int] = {}
        for histogram in self.lag_ms.values():
            merge_histograms(merged, histogram)
        return merged
