"""``tgload_*`` metrics for Prometheus, served by the Locust master (or the local runner).

A custom ``prometheus_client`` collector reads the run's aggregate tally and Locust's
in-memory stats at scrape time, so workers need no port of their own: their counts reach the
master through Locust's ``report_to_master`` messages. Names and labels come from
``bot_contract.metrics.LOAD_METRICS``. Started by ``--prometheus-port`` (0 = off).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bot_contract import metrics as m

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from loadtest.tally import Tally


def _buckets(histogram: dict[int, int]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative Prometheus buckets (seconds) and the approximate sum of a ms histogram."""
    items = sorted(histogram.items())
    out: list[tuple[str, float]] = []
    for bound in m.DURATION_BUCKETS_S:
        out.append((str(bound), float(sum(n for ms, n in items if ms / 1000 <= bound))))
    out.append(("+Inf", float(sum(n for _, n in items))))
    return out, sum(ms * n for ms, n in items) / 1000


class LoadCollector(Collector):
    """Exposes a tally, per-type response times and the current target rate."""

    def __init__(
        self,
        tally: Callable[[], Tally],
        response_ms: Callable[[], dict[str, dict[int, int]]],
        target_rate: Callable[[], float],
        gauges: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        """Read ``tally`` and the callables on every scrape.

        ``gauges`` gives (pending, in flight) now; without it they come from the tally, which
        holds only what workers reported (a one-process run records its own at the end only).
        """
        self.tally, self.response_ms, self.target_rate = tally, response_ms, target_rate
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        """Yield every ``tgload_*`` family."""
        t = self.tally()
        label = [m.LABEL_UPDATE_TYPE]
        for metric, counts in (
            (m.LOAD_OFFERED, t.offered),
            (m.LOAD_ACKED, t.acked),
            (m.LOAD_REDELIVERIES, t.redeliveries),
            (m.LOAD_EXPIRED, t.expired),
        ):
            family = CounterMetricFamily(metric.name, metric.documentation, labels=label)
            for kind, value in sorted(counts.items()):
                family.add_metric([kind], value)
            yield family
        family = CounterMetricFamily(
            m.LOAD_DELIVERIES.name,
            m.LOAD_DELIVERIES.documentation,
            labels=list(m.LOAD_DELIVERIES.labels),
        )
        for key, value in sorted(t.deliveries.items()):
            kind, status = key.split("|", 1)
            family.add_metric([kind, status], value)
        yield family
        for metric, histograms in (
            (m.LOAD_RESPONSE_DURATION, self.response_ms()),
            (m.LOAD_DELIVERY_LAG, t.lag_ms),
        ):
            hist = HistogramMetricFamily(metric.name, metric.documentation, labels=label)
            for kind, histogram in sorted(histograms.items()):
                buckets, total = _buckets(histogram)
                hist.add_metric([kind], buckets, total)
            yield hist
        pending, in_flight = self.gauges() if self.gauges else (t.pending, t.in_flight)
        gauges: tuple[tuple[m.Metric, float], ...] = (
            (m.LOAD_PENDING, pending),
            (m.LOAD_IN_FLIGHT, in_flight),
            (m.LOAD_TARGET_RATE, self.target_rate()),
        )
        for metric, reading in gauges:
            yield GaugeMetricFamily(metric.name, metric.documentation, value=reading)


def serve(collector: LoadCollector, port: int, address: str) -> int:
    """Serve ``collector`` on ``address:port`` in the background; returns the bound port."""
    registry = CollectorRegistry()
    registry.register(collector)
    server, _ = start_http_server(port, addr=address, registry=registry)
    return int(server.server_port)
