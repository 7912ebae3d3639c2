"""The real-data harness itself, proven against a small webhook stand-in: the driver's exporter
is scraped by a real Prometheus with our rules (the load suite's
:func:`tests.support.prometheus.local_prometheus`), and the load-suite queries return data.

The full proof with the real bot is tests/dashboards/integration/test_real_data.py.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from dashboards import all_dashboards, rules
from dashboards.__main__ import main
from dashboards.preview import render
from dashboards.queries import Query, all_queries
from tests.dashboards.driver import Driver, Stage
from tests.dashboards.evaluate import evaluate, needs_cluster, wait_for_value
from tests.support.prometheus import local_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed"),
]


class _Webhook(BaseHTTPRequestHandler):
    """Answers 200, and every 4th delivery 503 with Retry-After (the shed path)."""

    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            _Webhook.count += 1
            shed = _Webhook.count % 4 == 0
        self.send_response(503 if shed else 200)
        if shed:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/telegram/webhook"
    finally:
        server.shutdown()
        server.server_close()


def _load_suite_only(query: Query) -> bool:
    """Queries that read only the load suite's series (what this stand-in can feed)."""
    return "tgload_" in query.expr and not any(
        prefix in query.expr for prefix in ("tgbot_", "tgemu_", "namespace:tgbot")
    )


def test_driver_metrics_reach_prometheus_and_the_load_queries_have_data(
    webhook: str, workdir: Path, rule_file: Path
) -> None:
    driver = Driver(webhook, "secret", users=10, max_connections=8)
    port = driver.metrics.serve()
    targets = {"tgload": f"127.0.0.1:{port}"}
    with local_prometheus(targets, rule_files=[rule_file], report_dir=workdir) as url:
        start = datetime.now(UTC)
        totals = asyncio.run(driver.run([Stage(3, 20), Stage(3, 40)]))
        assert totals.acked == totals.offered - totals.expired
        assert totals.statuses.get("503", 0) > 0
        wait_for_value(url, "sum(tgload_updates_acked_total)", totals.acked)
        # Let the rule evaluation (every scrape interval) see the final scrape too.
        wait_for_value(url, f"count({rules.LAG_P95})", 1)
        end = datetime.now(UTC) + timedelta(seconds=1)
        chosen = [q for q in all_queries() if _load_suite_only(q) and not needs_cluster(q)]
        assert len(chosen) >= 8
        results = evaluate(url, chosen, start, end, variables={"__rate_interval": "5s"})
        assert [r.promql for r in results if r.error] == []
        assert [r.promql for r in results if not r.has_data and not r.query.is_filter] == []
        assert any(r.query.is_filter for r in results)
        recorded = evaluate(url, [Query("rule", rules.LAG_P95)], start, end)
        assert recorded[0].has_data


def test_an_invalid_or_empty_query_is_reported(workdir: Path) -> None:
    with local_prometheus({"self": "127.0.0.1:1"}, report_dir=workdir) as url:
        now = datetime.now(UTC)
        bad, empty = evaluate(
            url,
            [
                Query("bad", "sum(rate(tgload_updates_acked_total[5m])"),
                Query("empty", "tgbot_ready"),
            ],
            now - timedelta(seconds=30),
            now,
        )
    assert bad.error is not None
    assert not bad.has_data
    assert empty.error is None
    assert not empty.has_data


def test_preview_draws_the_load_test_dashboard_from_prometheus(webhook: str, workdir: Path) -> None:
    driver = Driver(webhook, "secret", users=10, max_connections=8)
    port = driver.metrics.serve()
    with local_prometheus({"tgload": f"127.0.0.1:{port}"}, report_dir=workdir) as url:
        start = datetime.now(UTC)
        totals = asyncio.run(driver.run([Stage(4, 20)]))
        wait_for_value(url, "sum(tgload_updates_acked_total)", totals.acked)
        out = workdir / "preview.png"
        model = all_dashboards()["tgbot-load-test.json"]
        empty = render(model, url, start, datetime.now(UTC), out)
        cli_out = workdir / "cli.png"
        argv = ["preview", "--prometheus", url, "--out", str(cli_out), "--dashboard"]
        argv += ["tgbot-load-test", "--start", start.isoformat()]
        assert main(argv) == 0
    assert cli_out.read_bytes().startswith(b"\x89PNG")
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "Offered vs achieved rate" not in empty
    assert "Delivery lag p50 / p95 / p99" not in empty
    # The bot is not running here, so its panels are the empty ones.
    assert "Bot API (emulator): answers/s and 429s by scope" not in empty  # `or vector(0)`
    assert "Open requests: load suite vs bot" not in empty
