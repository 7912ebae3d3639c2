"""``make capacity``'s arithmetic: steps from Locust's history, the knee, and the advice."""

from __future__ import annotations

import csv
import math
from typing import TYPE_CHECKING

import pytest

from localenv.capacity.advice import Slo, advise, find_knee
from localenv.capacity.ramp import read_history, steps_from_history
from localenv.capacity.steps import StepResult

if TYPE_CHECKING:
    from pathlib import Path

FIELDS = [
    "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%", "95%",
    "Total Request Count", "Total Failure Count", "Total Average Response Time",
]  # fmt: skip


def _step(index: int, offered: float, achieved: float, p95: float, **kw: float) -> StepResult:
    return StepResult(
        index=index,
        offered_rate=offered,
        achieved_rate=achieved,
        p95_ms=p95,
        mean_ms=kw.get("mean_ms", p95 / 2),
        error_ratio=kw.get("error_ratio", 0.0),
        in_flight=kw.get("in_flight"),
        requests=100,
    )


def test_the_knee_is_the_last_step_before_the_first_confirmed_breach() -> None:
    slo = Slo(p95_ms=300)
    steps = [
        _step(0, 20, 20, 40),
        _step(1, 40, 40, 90),
        _step(2, 60, 51, 900),  # latency and throughput break
        _step(3, 80, 70, 1200),  # ... and stay broken: confirmed
        _step(4, 100, 100, 100),  # a later good step does not move the knee
    ]
    knee = find_knee(steps, slo)
    assert knee.knee == steps[1]
    assert knee.breach == steps[2]
    assert any("p95 900 ms > 300 ms" in r for r in knee.breach_reasons)
    assert any("achieved/offered 0.85" in r for r in knee.breach_reasons)


def test_a_single_noisy_step_does_not_end_the_ramp() -> None:
    slo = Slo(p95_ms=300)
    steps = [_step(0, 20, 20, 40), _step(1, 40, 30, 90), _step(2, 60, 60, 80)]
    knee = find_knee(steps, slo)
    assert knee.knee == steps[2]
    assert knee.breach is None


def test_a_breach_in_the_last_step_counts() -> None:
    steps = [_step(0, 20, 20, 40), _step(1, 40, 40, 900)]
    assert find_knee(steps, Slo(p95_ms=300)).breach == steps[1]


def test_errors_alone_break_the_slo() -> None:
    knee = find_knee([_step(0, 20, 20, 10, error_ratio=0.2)], Slo(p95_ms=300))
    assert knee.knee is None
    assert knee.breach_reasons == ("error ratio 0.200 > 0.010",)


def test_advice_arithmetic() -> None:
    knee = _step(1, 100, 100, 120, mean_ms=50, in_flight=6.0)
    advice = advise(knee, peak_rate=500, baseline_rate=50, headroom=0.5, rtt_ms=100)
    assert advice.knee_in_flight == 6.0  # measured beats Little's law (100/s * 0.05 s = 5)
    assert advice.rate_target_per_pod == 50.0
    assert advice.in_flight_target_per_pod == 3.0
    assert advice.max_replicas == 10  # ceil(500 / 50)
    assert advice.min_replicas == 2  # max(2, ceil(50 / 50))
    # Telegram: 500/s * 0.15 s = 75 busy -> /0.5 = 150 > 100: capped, with a warning.
    assert advice.max_connections == 100
    assert advice.warnings
    assert "Little's law: L = lambda * W = 100.0/s * 0.0500 s = 5.00" in advice.arithmetic
    assert advice.target_inflight_config == 3
    config = advice.to_json()["pulumi_config"]
    assert config == {
        "tgscale:minReplicas": 2,
        "tgscale:maxReplicas": 10,
        "tgscale:targetInflightPerPod": 3,
        "tgscale:webhookMaxConnections": 100,
    }


def test_advice_without_prometheus_uses_littles_law() -> None:
    knee = _step(0, 40, 40, 30, mean_ms=25)
    advice = advise(knee, peak_rate=100, baseline_rate=20, headroom=0.8, rtt_ms=50)
    assert advice.in_flight_source == "little's law"
    assert advice.knee_in_flight == pytest.approx(1.0)
    assert advice.max_replicas == math.ceil(100 / 32)
    # Telegram: 100 * 0.075 = 7.5 -> ceil(7.5 / 0.8) = 10; feed: 4 pods * 1 = 4.
    assert advice.max_connections == 10
    # 0.8 * 1.0 in flight is below one: the whole-number infra target is 1, with a warning.
    assert advice.target_inflight_config == 1
    assert len(advice.warnings) == 1
    assert "< 1" in advice.warnings[0]
    assert advice.target_cpu_utilization is None


def test_cpu_target_and_telegram_cap() -> None:
    knee = StepResult(
        index=3, offered_rate=40, achieved_rate=40, p95_ms=200, mean_ms=150,
        error_ratio=0, in_flight=30.0, requests=400, cpu_cores=0.5,
    )  # fmt: skip
    advice = advise(
        knee, peak_rate=2000, baseline_rate=40, headroom=0.5, rtt_ms=100, cpu_request_cores=0.5
    )
    # 100 * 0.5 * 0.5 / 0.5 = 50 %.
    assert advice.target_cpu_utilization == 50
    # ceil(2000 / 20) = 100 replicas wanted, but 100 connections / 15 per pod keep 7 busy.
    assert advice.target_inflight_config == 15
    assert advice.max_connections == 100
    assert advice.max_replicas == 7
    assert any("max_connections cap" in w for w in advice.warnings)


def test_steps_from_history(tmp_path: Path) -> None:
    path = tmp_path / "locust_stats_history.csv"
    started = 1000.0
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        total, failures, mean = 0, 0, 0.0
        for second in range(1, 31):
            rate = 10 if second <= 15 else 20
            fail = 0 if second <= 15 else 2
            total += rate
            failures += fail
            ms = 40.0 if second <= 15 else 80.0
            mean = (mean * (total - rate) + ms * rate) / total
            row = dict.fromkeys(FIELDS, "")
            row.update({"Timestamp": started + second, "Name": "Aggregated", "95%": ms * 2})
            row.update({"Total Request Count": total, "Total Failure Count": failures})
            row["Total Average Response Time"] = mean
            writer.writerow(row)
            writer.writerow({**row, "Name": "update:text"})  # per-name rows are ignored
    steps = steps_from_history(read_history(path), [10.0, 20.0, 30.0], 15.0, started)
    assert len(steps) == 2  # the third step never ran
    first, second = steps
    assert first.achieved_rate == pytest.approx(10.0)
    assert first.mean_ms == pytest.approx(40.0)
    assert second.achieved_rate == pytest.approx(18.0)
    assert second.error_ratio == pytest.approx(0.1)
    assert second.p95_ms == 160.0
    assert second.mean_ms == pytest.approx(80.0)
