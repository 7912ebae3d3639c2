"""Proof on real data: the bot (on real PostgreSQL) answers a short load through the Bot API
emulator while a real Prometheus scrapes it, the emulator and the load driver with our rules
loaded (the local environment, ``localenv``); then EVERY dashboard query,
template-variable query, recording rule and alert expression runs through the Prometheus HTTP
API (prometheus-api-client).

Each must be valid. Each that should have data must return finite points: everything except
alert conditions (empty while all is well) and the queries that read cluster-only series
(kube-state-metrics, cAdvisor, KEDA). The Audience dashboard's SQL runs against the bot's
database and must count the users the load registered.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg
import pytest

from dashboards import all_dashboards, rules
from dashboards.audience import active_users_sql
from dashboards.preview import render
from dashboards.queries import Query, all_queries
from localenv.environment import local_environment
from tests.dashboards.driver import Driver, Stage
from tests.dashboards.evaluate import evaluate, needs_cluster, wait_for_value

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed"),
]

#: Short windows for a short run (Grafana would use its own $__rate_interval).
VARIABLES = {"__rate_interval": "10s", "__interval": "2s", "__range": "120s"}
#: Healthy-run alerts: none of these may fire while the bot serves the load.
HEALTH_ALERTS = ("TgbotTargetDown", "TgbotNotReady")
#: The run overloads the bot on purpose (a cap of 4 in flight per worker, slow handlers, a Bot
#: API budget below the bot's own): these alert conditions must hold on that real data, so they
#: can fire at all. Acknowledging no longer waits for the Bot API (the reply outbox), so the
#: 300 ms handler delay is what fills the cap at 40/s (sheds, latency burn). The emulator's
#: global budget sits below the bot's fleet-wide limiter, so the Bot API 429 path (flood
#: control answers, the sender honours retry_after) shows up in a short run.
OVERLOAD_ENV = {"BOT_MAX_IN_FLIGHT": "4", "BOT_TEST_HANDLER_DELAY_MS": "300"}
OVERLOAD_EMULATOR_ARGS = ("--global-rate", "3")
OVERLOAD_ALERTS = (
    "TgbotErrorBudgetBurnFast",
    "TgbotLatencyBudgetBurnFast",
    "TgbotBotAPIRateLimited",
)


def test_every_query_and_rule_runs_on_real_data(
    database_url: str, workdir: Path, rule_file: Path
) -> None:
    with local_environment(
        workers=2,
        bot_env={**OVERLOAD_ENV, "DATABASE_URL": database_url},
        emulator_args=OVERLOAD_EMULATOR_ARGS,
        rule_files=[rule_file],
        report_dir=workdir,
    ) as env:
        assert env.prometheus_url is not None
        url = env.prometheus_url
        # The driver stands in for Locust: Prometheus scrapes the port kept for its tgload_*.
        driver = Driver(env.webhook_url, env.secret)
        driver.metrics.serve(port=env.locust_metrics_port)
        start = datetime.now(UTC)
        stages = [Stage(8, 10), Stage(10, 40), Stage(6, 10)]
        totals = asyncio.run(driver.run(stages, progress=True))
        print(f"load done: {totals}")
        assert totals.acked > 100
        wait_for_value(url, "sum(tgload_updates_acked_total)", totals.acked)
        wait_for_value(url, "sum(tgbot_updates_total)", totals.acked)
        # Rules are evaluated every scrape interval: wait until the bot's recordings exist.
        wait_for_value(url, f"count({rules.UPDATES_RATE})", 1)
        wait_for_value(url, f"count({rules.quantile_record(0.99)})", 1)
        end = datetime.now(UTC) + timedelta(seconds=2)
        queries = list(all_queries())
        queries += [
            Query(f"recorded {r.record}", r.record, kind="record") for r in rules.recording_rules()
        ]
        results = evaluate(url, queries, start - timedelta(seconds=5), end, variables=VARIABLES)

        invalid = [(r.query.source, r.error) for r in results if r.error]
        assert invalid == []
        should_have_data = [
            r for r in results if not r.query.is_filter and not needs_cluster(r.query)
        ]
        assert len(should_have_data) >= 80
        empty = [(r.query.source, r.promql) for r in should_have_data if not r.has_data]
        assert empty == []
        fired = [
            r.query.source
            for r in results
            if r.query.source in {f"rule {name}" for name in HEALTH_ALERTS} and r.has_data
        ]
        assert fired == []
        holding = {r.query.source for r in results if r.query.is_filter and r.has_data}
        assert {f"rule {name}" for name in OVERLOAD_ALERTS} <= holding

        # The main dashboard renders with every panel drawn from data.
        overview = all_dashboards()["tgbot-overview.json"]
        assert render(overview, url, start, end, workdir / "overview.png") == []

    sql = [q for q in all_queries() if q.language == "sql"]
    assert len(sql) >= 5
    with psycopg.connect(database_url) as conn:
        for query in sql:
            rows = conn.execute(query.expr).fetchall()  # type: ignore[arg-type]
            assert rows, query.source
        (dau,) = conn.execute(active_users_sql("1 day")).fetchone()  # type: ignore[arg-type,misc]
    assert dau > 0
