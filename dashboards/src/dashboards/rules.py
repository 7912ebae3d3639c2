"""Prometheus recording and alerting rules for the bot, as data.

:func:`rule_groups` returns the ``groups`` list of a rule file (also the ``spec.groups`` of a
PrometheusRule). Recording rules hold the expensive expressions (SLO ratios over long windows,
histogram quantiles, per-pod ratios) so alerts and dashboards read cheap, precomputed series.
Every alert carries a ``summary``, a ``description`` and a ``runbook_url`` pointing at its entry
in dashboards/README.md, which :func:`rules_markdown` generates.
"""

from dataclasses import dataclass
from typing import Any, Final

from bot_contract import metrics as m
from dashboards import external as ext
from dashboards import slo

RUNBOOK_BASE: Final = "dashboards/README.md#"


@dataclass(frozen=True)
class Record:
    """A recording rule."""

    record: str
    expr: str
    help: str

    def to_rule(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        return {"record": self.record, "expr": self.expr}


@dataclass(frozen=True)
class Alert:
    """An alerting rule with the texts an on-call engineer reads."""

    name: str
    expr: str
    for_: str
    severity: str  # "critical" pages, "warning" makes a ticket
    summary: str
    description: str
    runbook: str  # one line: what to check first and how to relieve it
    # Texts use only {{ $labels.* }}, never {{ $value }}: the value is on the dashboards, and
    # label-only texts let the promtool unit tests state the exact annotations they expect.

    @property
    def anchor(self) -> str:
        """The README heading anchor of this alert's runbook entry."""
        return self.name.lower()

    def to_rule(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": RUNBOOK_BASE + self.anchor,
            },
        }


def _rate(series: str, window: str, by: str, matchers: str = "") -> str:
    selector = f"{series}{{{matchers}}}" if matchers else series
    return f"sum by ({by}) (rate({selector}[{window}]))"


_ERRORS_MATCHER: Final = f'{m.LABEL_OUTCOME}=~"{"|".join(slo.ERROR_OUTCOMES)}"'
_LE_MATCHER: Final = f'le="{slo.LATENCY_THRESHOLD_S}"'
_DURATION: Final = m.UPDATE_DURATION.name
_LAG: Final = m.LOAD_DELIVERY_LAG.name


def _slo_records() -> list[Record]:
    records = []
    for window in slo.WINDOWS:
        total = _rate(m.UPDATES.series, window, "namespace")
        bad = _rate(m.UPDATES.series, window, "namespace", _ERRORS_MATCHER)
        # `or 0 * total` keeps the ratio at 0 (not absent) while no delivery has failed yet:
        # prometheus_client creates a labelled counter only on its first increment.
        records.append(
            Record(
                slo.ratio_record(slo.AVAILABILITY, window),
                f"({bad} or 0 * {total}) / {total}",
                f"Share of deliveries answered 503 over {window}.",
            )
        )
        fast = _rate(f"{_DURATION}_bucket", window, "namespace", _LE_MATCHER)
        count = _rate(f"{_DURATION}_count", window, "namespace")
        records.append(
            Record(
                slo.ratio_record(slo.LATENCY, window),
                f"1 - ({fast} / {count})",
                f"Share of deliveries slower than {slo.LATENCY_THRESHOLD_S} s over {window}.",
            )
        )
    return records


#: Recorded series the dashboards read (names follow level:metric:operations).
UPDATES_RATE: Final = "namespace_update_type_outcome:tgbot_updates:rate5m"
DURATION_BUCKET_RATE: Final = "namespace_le:tgbot_update_duration_seconds_bucket:rate5m"
BOT_API_REQUESTS_RATE: Final = "namespace_method:tgbot_bot_api_requests:rate5m"
BOT_API_429_RATE: Final = "namespace_method:tgbot_bot_api_rate_limited:rate5m"
POOL_UTILISATION: Final = "namespace_pod:tgbot_db_pool_in_use:ratio"
IN_FLIGHT_PER_READY_POD: Final = "namespace:tgbot_updates_in_flight:per_ready_pod"
LAG_P95: Final = "namespace:tgload_delivery_lag_seconds:p95_5m"


def quantile_record(quantile: float) -> str:
    """The recorded bot processing-time quantile, e.g. ``...:p95_5m`` for 0.95."""
    return f"namespace:tgbot_update_duration_seconds:p{round(quantile * 100)}_5m"


def _traffic_records() -> list[Record]:
    records = [
        Record(
            UPDATES_RATE,
            _rate(m.UPDATES.series, "5m", f"namespace, {m.LABEL_UPDATE_TYPE}, {m.LABEL_OUTCOME}"),
            "Deliveries per second by update type and outcome.",
        ),
        Record(
            DURATION_BUCKET_RATE,
            _rate(f"{_DURATION}_bucket", "5m", "namespace, le"),
            "Processing-time histogram buckets, summed over pods.",
        ),
    ]
    records += [
        Record(
            quantile_record(q),
            f"histogram_quantile({q}, {DURATION_BUCKET_RATE})",
            f"p{round(q * 100)} processing time over 5 m.",
        )
        for q in (0.5, 0.95, 0.99)
    ]
    records += [
        Record(
            BOT_API_REQUESTS_RATE,
            _rate(m.BOT_API_REQUESTS.series, "5m", f"namespace, {m.LABEL_METHOD}"),
            "Outgoing Bot API calls per second by method.",
        ),
        Record(
            BOT_API_429_RATE,
            _rate(m.BOT_API_RATE_LIMITED.series, "5m", f"namespace, {m.LABEL_METHOD}"),
            "Bot API 429 answers per second by method.",
        ),
        Record(
            POOL_UTILISATION,
            f"sum by (namespace, pod) ({m.DB_POOL_IN_USE.series})"
            f" / sum by (namespace, pod) ({m.DB_POOL_SIZE.series})",
            "Share of each pod's pooled connections lent out.",
        ),
        Record(
            IN_FLIGHT_PER_READY_POD,
            f"sum by (namespace) ({m.UPDATES_IN_FLIGHT.series})"
            f" / sum by (namespace) ({m.READY.series})",
            "In-flight deliveries per ready pod: the KEDA scaling signal.",
        ),
        Record(
            LAG_P95,
            f"histogram_quantile(0.95, {_rate(f'{_LAG}_bucket', '5m', 'namespace, le')})",
            "p95 delivery lag (creation to acknowledgement) seen by the load suite.",
        ),
    ]
    return records


def _burn_alerts() -> list[Alert]:
    alerts = []
    for objective in slo.OBJECTIVES:
        for speed, pace, windows, severity, for_ in (
            ("Fast", "fast", slo.FAST_BURN, "critical", "2m"),
            ("Slow", "steadily", slo.SLOW_BURN, "warning", "15m"),
        ):
            clauses = [
                f"({slo.ratio_record(objective, w.long)} > {w.factor} * {objective.budget}"
                f" and {slo.ratio_record(objective, w.short)} > {w.factor} * {objective.budget})"
                for w in windows
            ]
            spans = " or ".join(f"{w.long}/{w.short} at {w.factor}x" for w in windows)
            noun = "Error" if objective.sli == "errors" else "Latency"
            alerts.append(
                Alert(
                    name=f"Tgbot{noun}BudgetBurn{speed}",
                    expr="\n  or\n".join(clauses),
                    for_=for_,
                    severity=severity,
                    summary=f"The bot's {noun.lower()} budget is burning {pace} "
                    f"(SLO: {objective.description}).",
                    description=f"Namespace {{{{ $labels.namespace }}}}: the {noun.lower()} "
                    f"budget burns faster than allowed ({spans}).",
                    runbook=_BURN_RUNBOOK[objective.sli],
                )
            )
    return alerts


_BURN_RUNBOOK: Final = {
    "errors": "Bot overview → Error ratio and Updates/s by outcome: `shed` means the in-flight cap "
    "is full (scale out, check Autoscaling), `retry` means the database or a handler timed out "
    "(check DB pool and PostgreSQL).",
    "latency": "Bot overview → Processing time and DB pool waiting: a waiting pool means raise the "
    "pool or add replicas; slow Bot API calls show in Bot API latency.",
}


def _capacity_alerts() -> list[Alert]:
    bot_namespaces = f"group by (namespace) ({m.READY.series})"
    return [
        Alert(
            name="TgbotAutoscalerAtMax",
            expr=f"({ext.HPA_CURRENT} >= on (namespace, horizontalpodautoscaler) {ext.HPA_MAX})"
            f" and on (namespace) {bot_namespaces}",
            for_="10m",
            severity="warning",
            summary="The bot's autoscaler has been at maxReplicas for 10 minutes.",
            description="HPA {{ $labels.horizontalpodautoscaler }} in {{ $labels.namespace }} "
            "runs at its maximum replicas; more load will queue at Telegram.",
            runbook="Autoscaling → Replicas and Pending-update lag: if the lag grows, raise "
            "maxReplicas (and the pooler's pool size with it); if not, the max fits the peak.",
        ),
        Alert(
            name="TgbotPendingUpdatesGrowing",
            expr=f"{m.LOAD_PENDING.series} > 100 and deriv({m.LOAD_PENDING.series}[10m]) > 0",
            for_="10m",
            severity="warning",
            summary="Updates waiting for the webhook have grown for 10 minutes.",
            description="More than 100 updates are pending at {{ $labels.instance }} and the "
            "backlog grows: the fleet acknowledges fewer updates than arrive.",
            runbook="Load test → Offered vs acknowledged and Autoscaling → Replicas: the fleet is "
            "short of capacity or answering 503; scale out or find the slow dependency.",
        ),
        Alert(
            name="TgbotDeliveryLagHigh",
            expr=f"{LAG_P95} > 10",
            for_="5m",
            severity="warning",
            summary="p95 delivery lag (update created → acknowledged) is above 10 s.",
            description="p95 delivery lag in namespace {{ $labels.namespace }} has stayed above "
            "10 s for 5 minutes.",
            runbook="Load test → Delivery lag and Bot overview → Updates/s by outcome: "
            "redeliveries after 503s add lag; relieve the cause of the 503s first.",
        ),
        Alert(
            name="TgbotDBPoolSaturated",
            expr=f"{POOL_UTILISATION} >= 0.9"
            f" and on (namespace, pod) sum by (namespace, pod) ({m.DB_POOL_WAITING.series}) > 0",
            for_="5m",
            severity="warning",
            summary="A bot pod's database pool is saturated and requests wait for connections.",
            description="Pod {{ $labels.pod }} lends out at least 90 % of its pool and requests "
            "are waiting for a connection.",
            runbook="Bot overview → DB pool: raise the bot's pool size within the pooler's limit, "
            "or find slow queries in PostgreSQL (pg_stat_activity).",
        ),
        Alert(
            name="TgbotBotAPIRateLimited",
            expr=f"{BOT_API_429_RATE} / {BOT_API_REQUESTS_RATE} > 0.01",
            for_="10m",
            severity="warning",
            summary="More than 1 % of the bot's Bot API calls get 429 Too Many Requests.",
            description="{{ $labels.method }} calls in namespace {{ $labels.namespace }} get "
            "429 more than 1 % of the time.",
            runbook="Bot overview → Bot API 429s by method: check the shared limiter's budget "
            "(per chat 1/s, per group 20/min, global) and broadcast jobs.",
        ),
    ]


def _health_alerts() -> list[Alert]:
    return [
        Alert(
            name="TgbotTargetDown",
            # Only jobs that exported the bot's readiness in the last hour are the bot's.
            expr=f"{ext.UP} == 0 and on (job)"
            f" group by (job) (last_over_time({m.READY.series}[1h]))",
            for_="3m",
            severity="critical",
            summary="Prometheus cannot scrape a bot instance.",
            description="{{ $labels.instance }} of job {{ $labels.job }} is down.",
            runbook="`kubectl get pods` and `kubectl describe pod`: crash loops, OOM kills or a "
            "failed migration Job; the pod's logs say which.",
        ),
        Alert(
            name="TgbotNotReady",
            expr=f"max by (namespace, pod, instance, job) ({m.READY.series}) == 0",
            for_="5m",
            severity="critical",
            summary="A bot instance has reported not ready for 5 minutes.",
            description="{{ $labels.instance }} reports tgbot_ready 0: it is draining or its "
            "database is unreachable.",
            runbook="`curl <pod>:8080/readyz` says why; a drain should end within the grace "
            "period, so a stuck one means PostgreSQL or the pooler is unreachable.",
        ),
    ]


def recording_rules() -> list[Record]:
    """Every recording rule, SLO ratios first."""
    return _slo_records() + _traffic_records()


def alerts() -> list[Alert]:
    """Every alerting rule."""
    return _burn_alerts() + _capacity_alerts() + _health_alerts()


def rule_groups() -> list[dict[str, Any]]:
    """The rule groups of tgscale's rule file (recording rules first, then alerts)."""
    return [
        {"name": "tgbot.slo.rules", "rules": [r.to_rule() for r in _slo_records()]},
        {"name": "tgbot.rules", "rules": [r.to_rule() for r in _traffic_records()]},
        {"name": "tgbot.alerts", "rules": [a.to_rule() for a in alerts()]},
    ]


def rules_markdown() -> str:
    """The README section listing every rule with its summary and runbook line."""
    lines = ["| alert | severity | for | summary |", "|---|---|---|---|"]
    lines += [
        f"| [{a.name}](#{a.anchor}) | {a.severity} | {a.for_} | {a.summary} |" for a in alerts()
    ]
    for alert in alerts():
        lines += ["", f"#### {alert.name}", "", f"**Summary:** {alert.summary}", ""]
        lines += [f"**Runbook:** {alert.runbook}"]
    lines += ["", "| recording rule | what |", "|---|---|"]
    lines += [f"| `{r.record}` | {r.help} |" for r in recording_rules()]
    return "\n".join(lines)
