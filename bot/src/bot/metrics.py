"""The bot's Prometheus metrics, named only from :mod:`bot_contract.metrics`.

Each application gets its own :class:`Metrics` (its own registry), so tests can build several
apps in one process. With several uvicorn workers, ``PROMETHEUS_MULTIPROC_DIR`` is set before
the workers start and :func:`render` merges every worker's files (multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from bot_contract import metrics as m

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _labels(metric: m.Metric) -> list[str]:
    return list(metric.labels)


class Metrics:
    """Every bot metric of the contract, registered in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            m.UPDATES.name, m.UPDATES.documentation, _labels(m.UPDATES), registry=r
        )
        self.update_duration = Histogram(
            m.UPDATE_DURATION.name,
            m.UPDATE_DURATION.documentation,
            _labels(m.UPDATE_DURATION),
            buckets=m.DURATION_BUCKETS_S,
            registry=r,
        )
        self.in_flight = self._gauge(m.UPDATES_IN_FLIGHT, "livesum")
        self.in_flight_limit = self._gauge(m.UPDATES_IN_FLIGHT_LIMIT, "livesum")
        self.duplicates = Counter(
            m.DUPLICATES.name, m.DUPLICATES.documentation, _labels(m.DUPLICATES), registry=r
        )
        self.dead_letters = Counter(
            m.DEAD_LETTERS.name, m.DEAD_LETTERS.documentation, _labels(m.DEAD_LETTERS), registry=r
        )
        self.auth_rejected = Counter(
            m.AUTH_REJECTED.name, m.AUTH_REJECTED.documentation, registry=r
        )
        self.api_requests = Counter(
            m.BOT_API_REQUESTS.name,
            m.BOT_API_REQUESTS.documentation,
            _labels(m.BOT_API_REQUESTS),
            registry=r,
        )
        self.api_duration = Histogram(
            m.BOT_API_DURATION.name,
            m.BOT_API_DURATION.documentation,
            _labels(m.BOT_API_DURATION),
            buckets=m.DURATION_BUCKETS_S,
            registry=r,
        )
        self.api_rate_limited = Counter(
            m.BOT_API_RATE_LIMITED.name,
            m.BOT_API_RATE_LIMITED.documentation,
            _labels(m.BOT_API_RATE_LIMITED),
            registry=r,
        )
        self.pool_size = self._gauge(m.DB_POOL_SIZE, "livesum")
        self.pool_in_use = self._gauge(m.DB_POOL_IN_USE, "livesum")
        self.pool_waiting = self._gauge(m.DB_POOL_WAITING, "livesum")
        self.ready = self._gauge(m.READY, "livemin")
        # Every sender samples the same fleet-wide outbox: merge workers by the maximum.
        self.outbox_depth = self._gauge(m.OUTBOX_DEPTH, "livemax")
        self.outbox_oldest_age = self._gauge(m.OUTBOX_OLDEST_AGE, "livemax")
        self.outbox_sends = Counter(
            m.OUTBOX_SENDS.name, m.OUTBOX_SENDS.documentation, _labels(m.OUTBOX_SENDS), registry=r
        )
        self.outbox_throttled = Counter(
            m.OUTBOX_THROTTLED.name, m.OUTBOX_THROTTLED.documentation, registry=r
        )
        self.outbox_slot_delay = Histogram(
            m.OUTBOX_SLOT_DELAY.name,
            m.OUTBOX_SLOT_DELAY.documentation,
            buckets=m.DURATION_BUCKETS_S,
            registry=r,
        )
        self.outbox_in_doubt = Counter(
            m.OUTBOX_IN_DOUBT.name, m.OUTBOX_IN_DOUBT.documentation, registry=r
        )

    def _gauge(self, metric: m.Metric, mode: str) -> Gauge:
        # multiprocess_mode decides how workers' values merge: sums for counts, min for "ready".
        return Gauge(
            metric.name,
            metric.documentation,
            _labels(metric),
            registry=self.registry,
            multiprocess_mode=mode,  # type: ignore[arg-type]
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text: every worker's metrics in multiprocess mode, else this app's."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
