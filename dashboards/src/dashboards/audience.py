"""The Audience dashboard: DAU and MAU, messages per second and per minute, response time and
error rate.

DAU and MAU count distinct users, which Prometheus cannot: a per-user label would explode the
series count. They come from the bot's PostgreSQL ``users`` table (``last_seen_at`` is updated on
every message) through a ``$postgres`` datasource variable; everything else comes from the bot's
counters and histogram through ``$datasource``. dashboards/README.md explains the choice.
"""

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable

from bot_contract import metrics as m
from bot_contract.updates import UpdateType
from dashboards import slo
from dashboards.bot_overview import error_ratio
from dashboards.common import (
    POSTGRES,
    PanelBuilder,
    SqlQuery,
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

UID: Final = "tgbot-audience"

#: Update types that are messages from a user (not callbacks, edits or membership changes).
MESSAGE_TYPES: Final = (UpdateType.TEXT, UpdateType.COMMAND, UpdateType.PHOTO)
_MESSAGES: Final = (
    f'{m.LABEL_UPDATE_TYPE}=~"{"|".join(MESSAGE_TYPES)}"',
    f'{m.LABEL_OUTCOME}="handled"',
)


def active_users_sql(interval: str) -> str:
    """Users seen within ``interval`` (a PostgreSQL interval literal such as ``1 day``)."""
    # ``interval`` is one of this module's literals, never user input.
    return (
        "SELECT count(*) AS active_users FROM users "  # noqa: S608
        f"WHERE last_seen_at > now() - interval '{interval}'"
    )


#: Daily active users over the last 30 days, one row per day (a Grafana time series).
DAU_SERIES_SQL: Final = (
    "SELECT day AS time, count(u.user_id) AS dau "
    "FROM generate_series(date_trunc('day', now()) - interval '29 days', "
    "date_trunc('day', now()), interval '1 day') AS day "
    "LEFT JOIN users u ON u.last_seen_at >= day AND u.last_seen_at < day + interval '1 day' "
    "GROUP BY day ORDER BY day"
)
NEW_USERS_SQL: Final = (
    "SELECT count(*) AS new_users FROM users WHERE started_at > now() - interval '1 day'"
)


def _users() -> list[PanelBuilder]:
    return [
        stat(
            "DAU",
            "Distinct users seen in the last 24 h (users.last_seen_at).",
            SqlQuery(active_users_sql("1 day")),
            span=6,
            datasource=POSTGRES,
        ),
        stat(
            "MAU",
            "Distinct users seen in the last 30 days.",
            SqlQuery(active_users_sql("30 days")),
            span=6,
            datasource=POSTGRES,
        ),
        stat(
            "New users (24 h)",
            "Users whose first /start was in the last 24 h.",
            SqlQuery(NEW_USERS_SQL),
            span=6,
            datasource=POSTGRES,
        ),
        stat(
            "DAU / MAU",
            "Stickiness: the share of monthly users active today.",
            SqlQuery(
                "SELECT (count(*) FILTER (WHERE last_seen_at > now() - interval '1 day'))::float"
                " / greatest(count(*) FILTER (WHERE last_seen_at > now() - interval '30 days'), 1)"
                " AS stickiness FROM users"
            ),
            unit="percentunit",
            span=6,
            datasource=POSTGRES,
        ),
        timeseries(
            "Daily active users (30 days)",
            "One point per UTC day.",
            [SqlQuery(DAU_SERIES_SQL, table=False)],
            span=24,
        ).datasource(POSTGRES),
    ]


def _activity() -> list[PanelBuilder]:
    return [
        timeseries(
            "Messages per second",
            "Handled text, command and photo messages.",
            [query(rate(m.UPDATES.series, *_MESSAGES), "messages/s")],
            unit="reqps",
        ),
        timeseries(
            "Messages per minute",
            "The same messages counted per minute.",
            [
                query(
                    f"sum(increase({selector(m.UPDATES.series, *_MESSAGES)}[1m]))",
                    "messages/min",
                )
            ],
        ),
        timeseries(
            "Response time p50 / p95",
            f"Receive → answer; the SLO allows 1 % above {slo.LATENCY_THRESHOLD_S} s.",
            [query(quantile(q, m.UPDATE_DURATION.name), f"p{round(q * 100)}") for q in (0.5, 0.95)],
            unit="s",
        ),
        timeseries(
            "Error rate",
            "Share of deliveries answered 503 (Telegram redelivers them).",
            [query(error_ratio(), "error ratio")],
            unit="percentunit",
        ),
    ]


def audience() -> Dashboard:
    """The Audience dashboard (uid ``tgbot-audience``)."""
    board = (
        dashboard(
            "tgscale / Audience",
            UID,
            "Who uses the bot and how much: DAU, MAU, messages per second and minute, response "
            "time and error rate.",
        )
        .time("now-24h", "now")
        .with_variable(
            DatasourceVariable("postgres").label("PostgreSQL").type("grafana-postgresql-datasource")
        )
        .with_variable(label_variable("namespace", "namespace", m.READY.series, title="Namespace"))
        .with_variable(
            label_variable(
                "pod", "pod", f'{m.READY.series}{{namespace=~"$namespace"}}', title="Pod"
            )
        )
    )
    return with_sections(board, [("Users", _users()), ("Activity", _activity())])
