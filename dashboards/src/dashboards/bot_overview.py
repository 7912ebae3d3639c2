"""The Bot overview dashboard: what the webhook fleet is doing right now (RED plus saturation)."""

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard

from bot_contract import metrics as m
from dashboards import rules, slo
from dashboards.common import (
    PanelBuilder,
    dashboard,
    label_variable,
    quantile,
    query,
    rate,
    selector,
    stat,
    timeseries,
    with_sections,
)

UID: Final = "tgbot-overview"
_ERRORS: Final = f'{m.LABEL_OUTCOME}=~"{"|".join(slo.ERROR_OUTCOMES)}"'


def error_ratio() -> str:
    """Share of deliveries answered 503 over the rate interval (0 while none failed)."""
    total = rate(m.UPDATES.series)
    return f"({rate(m.UPDATES.series, _ERRORS)} or 0 * {total}) / {total}"


def _headline() -> list[PanelBuilder]:
    return [
        stat(
            "Updates/s",
            "Webhook deliveries per second, every outcome.",
            query(rate(m.UPDATES.series)),
            unit="reqps",
        ),
        stat(
            "p95 processing time",
            "95th percentile of receive → answer, all update types.",
            query(quantile(0.95, m.UPDATE_DURATION.name)),
            unit="s",
            warn_at=slo.LATENCY_THRESHOLD_S,
        ),
        stat(
            "Error ratio",
            "Share of deliveries answered 503 (retry or shed); Telegram redelivers them.",
            query(error_ratio()),
            unit="percentunit",
            warn_at=slo.AVAILABILITY.budget,
        ),
        stat(
            "In flight",
            "Deliveries being processed right now, all pods.",
            query(f"sum({selector(m.UPDATES_IN_FLIGHT.series)})"),
        ),
        stat(
            "Ready pods",
            "Pods whose /readyz answers ready.",
            query(f"sum({selector(m.READY.series)})"),
        ),
        stat(
            "Dead letters (range)",
            "Payloads stored in the dead-letter table over the time range.",
            query(
                f"sum(increase({selector(m.DEAD_LETTERS.series)}[$__range])) or vector(0)",
                instant=True,
            ),
            warn_at=1,
        ),
    ]


def _traffic() -> list[PanelBuilder]:
    return [
        timeseries(
            "Updates/s by type and outcome",
            "Deliveries per second; `retry` and `shed` were answered 503 and come back.",
            [
                query(
                    rate(m.UPDATES.series, by=f"{m.LABEL_UPDATE_TYPE}, {m.LABEL_OUTCOME}"),
                    "{{update_type}} {{outcome}}",
                )
            ],
            unit="reqps",
        ),
        timeseries(
            "Processing time p50 / p95 / p99",
            f"Receive → answer; the latency SLO counts answers slower than "
            f"{slo.LATENCY_THRESHOLD_S} s.",
            [
                query(quantile(q, m.UPDATE_DURATION.name), f"p{round(q * 100)}")
                for q in (0.5, 0.95, 0.99)
            ],
            unit="s",
        ),
        timeseries(
            "Error ratio and SLO burn",
            "503 share now, and the recorded 1 h / 6 h ratios the burn-rate alerts read.",
            [
                query(error_ratio(), "error ratio"),
                query(
                    f'{slo.ratio_record(slo.AVAILABILITY, "1h")}{{namespace=~"$namespace"}}',
                    "1h ratio (recorded)",
                ),
                query(
                    f'{slo.ratio_record(slo.LATENCY, "1h")}{{namespace=~"$namespace"}}',
                    "slow share 1h (recorded)",
                ),
            ],
            unit="percentunit",
        ),
        timeseries(
            "In flight per pod vs limit",
            "Past the limit the pod answers 503 (shed).",
            [
                query(f"sum by (pod) ({selector(m.UPDATES_IN_FLIGHT.series)})", "{{pod}}"),
                query(f"max({selector(m.UPDATES_IN_FLIGHT_LIMIT.series)})", "limit"),
            ],
        ),
    ]


def _reliability() -> list[PanelBuilder]:
    return [
        timeseries(
            "Duplicates/s",
            "Redelivered updates whose update_id was already committed (no effect).",
            [query(rate(m.DUPLICATES.series, by=m.LABEL_UPDATE_TYPE), "{{update_type}}")],
            unit="reqps",
            span=8,
        ),
        timeseries(
            "Dead letters/s by reason",
            "Unparseable or poison payloads, answered 200 and stored.",
            [query(rate(m.DEAD_LETTERS.series, by=m.LABEL_REASON), "{{reason}}")],
            unit="reqps",
            span=8,
        ),
        timeseries(
            "Rejected auth/s",
            "Deliveries refused with 401 (missing or wrong secret token).",
            [query(rate(m.AUTH_REJECTED.series), "rejected")],
            unit="reqps",
            span=8,
        ),
    ]


def _bot_api() -> list[PanelBuilder]:
    return [
        timeseries(
            "Bot API calls/s by method and status",
            "Outgoing calls; `error` means no answer came.",
            [
                query(
                    rate(m.BOT_API_REQUESTS.series, by=f"{m.LABEL_METHOD}, {m.LABEL_STATUS}"),
                    "{{method}} {{status}}",
                )
            ],
            unit="reqps",
            span=8,
        ),
        timeseries(
            "Bot API 429s/s by method",
            "Too Many Requests answers; the bot honours retry_after.",
            [query(rate(m.BOT_API_RATE_LIMITED.series, by=m.LABEL_METHOD), "{{method}}")],
            unit="reqps",
            span=8,
        ),
        timeseries(
            "Bot API latency p95 by method",
            "95th percentile of outgoing call time.",
            [query(quantile(0.95, m.BOT_API_DURATION.name, by=m.LABEL_METHOD), "{{method}}")],
            unit="s",
            span=8,
        ),
    ]


def _database() -> list[PanelBuilder]:
    return [
        timeseries(
            "DB pool: size, in use, waiting",
            "All pods; waiting > 0 means requests queue for a connection.",
            [
                query(f"sum({selector(m.DB_POOL_SIZE.series)})", "size"),
                query(f"sum({selector(m.DB_POOL_IN_USE.series)})", "in use"),
                query(f"sum({selector(m.DB_POOL_WAITING.series)})", "waiting"),
            ],
        ),
        timeseries(
            "DB pool utilisation per pod",
            "In use / size, recorded; the saturation alert fires at 90 % with waiters.",
            [query(f'{rules.POOL_UTILISATION}{{namespace=~"$namespace", pod=~"$pod"}}', "{{pod}}")],
            unit="percentunit",
        ),
    ]


def bot_overview() -> Dashboard:
    """The Bot overview dashboard (uid ``tgbot-overview``)."""
    board = (
        dashboard(
            "tgscale / Bot overview",
            UID,
            "Webhook traffic, latency, errors, saturation, Bot API calls and the DB pool.",
        )
        .with_variable(label_variable("namespace", "namespace", m.READY.series, title="Namespace"))
        .with_variable(
            label_variable(
                "pod", "pod", f'{m.READY.series}{{namespace=~"$namespace"}}', title="Pod"
            )
        )
    )
    return with_sections(
        board,
        [
            ("Now", _headline()),
            ("Traffic and latency", _traffic()),
            ("Reliability", _reliability()),
            ("Bot API", _bot_api()),
            ("Database pool", _database()),
        ],
    )
