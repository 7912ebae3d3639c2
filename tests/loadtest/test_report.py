"""``summary.json``: the typed summary serializes to the object the report has always held."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from loadtest import report
from loadtest.gates import GateResult

if TYPE_CHECKING:
    from pathlib import Path

#: The keys consumers read (the e2e tests, CI's load gate, the README), written out by hand.
TOP_LEVEL = {
    "profile", "description", "model", "max_connections", "shape", "rate_scale", "started_at",
    "ended_at", "duration_s", "totals", "by_type", "offered_by_type", "acked_by_type",
    "deliveries", "timeline", "gates",
}  # fmt: skip
TOTALS = {
    "offered", "acked", "expired", "redeliveries", "requests", "failures", "duplicates_injected",
    "not_created", "pending_at_end", "offered_rate", "achieved_rate", "lag_p50_ms", "lag_p99_ms",
    "body_replies",
}  # fmt: skip


def test_summary_json_keeps_its_shape(tmp_path: Path) -> None:
    summary = report.Summary(
        profile="steady",
        description="d",
        model="telegram",
        max_connections=40,
        shape={"kind": "SteadyShape", "duration_s": 10.0, "rate": 5.0},
        rate_scale=1.0,
        started_at=100.0,
        ended_at=110.0,
        duration_s=10.0,
        totals=report.Totals(
            offered=50,
            acked=49,
            expired=0,
            redeliveries=1,
            requests=51,
            failures=1,
            duplicates_injected=0,
            not_created=0,
            pending_at_end=1,
            offered_rate=5.0,
            achieved_rate=4.9,
            lag_p50_ms=3,
            lag_p99_ms=None,
        ),
        by_type={"text": report.TypeLatency(requests=51, p50_ms=2, p95_ms=5, p99_ms=None)},
        offered_by_type={"text": 50},
        acked_by_type={"text": 49},
        deliveries={"text|200": 49},
        timeline=[{"t": 1.0}],
    )
    gate = GateResult(name="error ratio", verdict="pass", measured=0.02, threshold=0.05)
    data = json.loads(report.write_summary(tmp_path, summary, [gate]).read_text())
    assert set(data) == TOP_LEVEL
    assert set(data["totals"]) == TOTALS
    assert data["totals"]["body_replies"] == {}  # no Locust runtime in this process
    assert data["by_type"] == {"text": {"requests": 51, "p50_ms": 2, "p95_ms": 5, "p99_ms": None}}
    assert data["gates"][0]["name"] == "error ratio"
    assert data["gates"][0]["verdict"] == "pass"
