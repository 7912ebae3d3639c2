"""The Load test dashboard: the Locust run's view side by side with the bot's own view.

Mechanism: the locustfile serves ``tgload_*`` on ``--prometheus-port`` and Prometheus *scrapes*
it like any target (pull, no Pushgateway), so a run's series share timestamps with the bot's
and the emulator's. Offered vs achieved rate, response-time percentiles, failures and delivery
lag come from the load suite; the bot's handled rate and processing time from the bot; Bot API
answers from the emulator.
"""

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard

from bot_contract import metrics as m
from dashboards.common import (
    PanelBuilder,
    dashboard,
    label_variable,
    quantile,
    query,
    rate,
    stat,
    timeseries,
    with_sections,
)

UID: Final = "tgbot-load-test"
_QUANTILES: Final = (0.5, 0.95, 0.99)


def _load_rate(metric: str, *matchers: str, by: str = "") -> str:
    # The load generator runs outside the bot's namespace/pod scope.
    return rate(metric, *matchers, by=by, scope="")


def _rates() -> list[PanelBuilder]:
    return [
        stat(
            "Offered updates/s",
            "Updates the simulated Telegram created per second.",
            query(_load_rate(m.LOAD_OFFERED.series)),
            unit="reqps",
            span=6,
        ),
        stat(
            "Acknowledged updates/s",
            "Updates the webhook answered 2xx per second.",
            query(_load_rate(m.LOAD_ACKED.series)),
            unit="reqps",
            span=6,
        ),
        stat(
            "Pending updates",
            "Created but not yet acknowledged.",
            query(f"sum({m.LOAD_PENDING.series})"),
            span=6,
        ),
        stat(
            "Delivery lag p95",
            "Created → acknowledged, retries included.",
            query(quantile(0.95, m.LOAD_DELIVERY_LAG.name, scope="")),
            unit="s",
            span=6,
        ),
        timeseries(
            "Offered vs achieved rate",
            "The shape's target, what the load suite offered and got acknowledged, and what the "
            "bot says it handled.",
            [
                query(f"sum({m.LOAD_TARGET_RATE.series})", "target (shape)"),
                query(_load_rate(m.LOAD_OFFERED.series), "offered"),
                query(_load_rate(m.LOAD_ACKED.series), "acknowledged"),
                query(rate(m.UPDATES.series, f'{m.LABEL_OUTCOME}="handled"'), "bot handled"),
            ],
            unit="reqps",
        ),
        timeseries(
            "Response time: load suite vs bot",
            "Percentiles of the webhook answer time as Locust saw it (network included) and as "
            "the bot measured it.",
            [
                query(
                    quantile(q, m.LOAD_RESPONSE_DURATION.name, scope=""),
                    f"locust p{round(q * 100)}",
                )
                for q in _QUANTILES
            ]
            + [
                query(quantile(q, m.UPDATE_DURATION.name), f"bot p{round(q * 100)}")
                for q in (0.95, 0.99)
            ],
            unit="s",
        ),
    ]


def _failures() -> list[PanelBuilder]:
    return [
        timeseries(
            "Failed deliveries/s by status",
            "Webhook attempts without a 2xx: 503 (retry later), timeout or connection error.",
            [
                query(
                    _load_rate(m.LOAD_DELIVERIES.series, 'status!~"2.."', by=m.LABEL_STATUS),
                    "{{status}}",
                ),
                query(f"{_load_rate(m.LOAD_REDELIVERIES.series)} or vector(0)", "redeliveries"),
                query(f"{_load_rate(m.LOAD_EXPIRED.series)} or vector(0)", "expired"),
            ],
            unit="reqps",
        ),
        timeseries(
            "Delivery lag p50 / p95 / p99",
            "Update created → acknowledged, with Telegram-style retries and per-chat queueing.",
            [
                query(quantile(q, m.LOAD_DELIVERY_LAG.name, scope=""), f"p{round(q * 100)}")
                for q in _QUANTILES
            ],
            unit="s",
        ),
        timeseries(
            "Open requests: load suite vs bot",
            "Webhook requests open at the load suite (≤ max_connections) and in flight at the bot.",
            [
                query(f"sum({m.LOAD_IN_FLIGHT.series})", "load suite open"),
                query(f"sum({m.UPDATES_IN_FLIGHT.series}{{{_BOT}}})", "bot in flight"),
            ],
        ),
        timeseries(
            "Bot API (emulator): answers/s and 429s by scope",
            "What the Bot API emulator answered, and its flood-control 429s.",
            [
                query(_load_rate(m.EMULATOR_REQUESTS.series, by=m.LABEL_STATUS), "{{status}}"),
                query(
                    f"{_load_rate(m.EMULATOR_RATE_LIMITED.series, by=m.LABEL_SCOPE)} or vector(0)",
                    "429 {{scope}}",
                ),
            ],
            unit="reqps",
        ),
    ]


_BOT: Final = 'namespace=~"$namespace", pod=~"$pod"'


def load_test() -> Dashboard:
    """The Load test dashboard (uid ``tgbot-load-test``)."""
    board = (
        dashboard(
            "tgscale / Load test",
            UID,
            "A Locust run's offered and achieved rate, response times, failures and delivery "
            "lag, beside the bot's and the Bot API emulator's view.",
        )
        .time("now-30m", "now")
        .refresh("10s")
        .with_variable(
            label_variable("namespace", "namespace", m.READY.series, title="Bot namespace")
        )
        .with_variable(
            label_variable(
                "pod", "pod", f'{m.READY.series}{{namespace=~"$namespace"}}', title="Bot pod"
            )
        )
    )
    return with_sections(board, [("Rate and latency", _rates()), ("Failures and lag", _failures())])
