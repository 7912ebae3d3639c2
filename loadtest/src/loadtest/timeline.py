"""The run's per-second history (for the chart and summary.json) and the live progress line.

Runs on the master or the local runner. Each sample turns cumulative counts into rates and
window percentiles: response times from the difference of Locust's total histogram between
two samples, delivery lag from the tally's. Worker counts arrive every ~3 s (Locust's report
interval), so distributed rates are lumpier than local ones.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import gevent

from loadtest.tally import percentile

if TYPE_CHECKING:
    from locust.env import Environment

    from loadtest.runtime import LoadRuntime

SAMPLE_S = 1.0


def _diff(new: dict[int, int], old: dict[int, int]) -> dict[int, int]:
    return {k: v - old.get(k, 0) for k, v in new.items() if v - old.get(k, 0) > 0}


class Timeline:
    """Samples the run every second into :attr:`rows`; prints progress every N seconds."""

    def __init__(self, environment: Environment, runtime: LoadRuntime, progress_s: float) -> None:
        """Sample ``runtime``'s aggregate and ``environment``'s stats."""
        self.environment, self.runtime, self.progress_s = environment, runtime, progress_s
        self.rows: list[dict[str, Any]] = []
        self._greenlet: gevent.Greenlet[..., None] | None = None
        self._last: dict[str, Any] = {}

    def start(self) -> None:
        """Begin sampling on a greenlet."""
        self._last = self._snapshot(time.time())
        self._greenlet = gevent.spawn(self._loop)

    def stop(self) -> None:
        """Take a last sample and stop."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
            self.sample()

    def _loop(self) -> None:
        next_progress = self.progress_s
        while True:
            gevent.sleep(SAMPLE_S)
            row = self.sample()
            if self.progress_s and row["t"] >= next_progress:
                next_progress += self.progress_s
                sys.stdout.write(self.progress_line(row) + "\n")
                sys.stdout.flush()

    def _snapshot(self, now: float) -> dict[str, Any]:
        agg = self.runtime.aggregate
        total = self.environment.stats.total
        return {
            "now": now,
            "offered": sum(agg.offered.values()),
            "acked": sum(agg.acked.values()),
            "redeliveries": sum(agg.redeliveries.values()),
            "requests": total.num_requests,
            "failures": total.num_failures,
            "response": dict(total.response_times),
            "lag": agg.lag_all(),
        }

    def sample(self) -> dict[str, Any]:
        """Append one row: rates since the last sample and window percentiles."""
        now = time.time()
        snap, last = self._snapshot(now), self._last
        dt = max(now - last["now"], 1e-6)
        response = _diff(snap["response"], last["response"])
        lag = _diff(snap["lag"], last["lag"])
        runtime = self.runtime
        t = now - (runtime.started_at or now)
        target = runtime.settings.profile.shape.rate_at(max(0.0, t - dt / 2))  # mid-interval
        pending, in_flight = runtime.fleet_gauges()
        row = {
            "t": round(t, 3),
            "target_rate": 0.0 if target is None else target * runtime.settings.rate_scale,
            "offered_rate": (snap["offered"] - last["offered"]) / dt,
            "achieved_rate": (snap["acked"] - last["acked"]) / dt,
            "request_rate": (snap["requests"] - last["requests"]) / dt,
            "failure_rate": (snap["failures"] - last["failures"]) / dt,
            "redelivery_rate": (snap["redeliveries"] - last["redeliveries"]) / dt,
            "p50_ms": percentile(response, 0.5) or 0,
            "p95_ms": percentile(response, 0.95) or 0,
            "p99_ms": percentile(response, 0.99) or 0,
            "lag_p99_ms": percentile(lag, 0.99) or 0,
            "pending": pending,
            "in_flight": in_flight,
            "offered_total": snap["offered"],
            "acked_total": snap["acked"],
            "requests_total": snap["requests"],
            "failures_total": snap["failures"],
        }
        self.rows.append(row)
        self._last = snap
        return row

    @staticmethod
    def progress_line(row: dict[str, Any]) -> str:
        """One line of live progress."""
        errors = row["failures_total"] / row["requests_total"] if row["requests_total"] else 0.0
        return (
            f"[{row['t']:6.0f}s] target {row['target_rate']:7.1f}/s  offered "
            f"{row['offered_rate']:7.1f}/s  achieved {row['achieved_rate']:7.1f}/s  p95 "
            f"{row['p95_ms']:5d} ms  errors {errors:6.2%}  pending {row['pending']:6d}  "
            f"in flight {row['in_flight']:3d}"
        )
