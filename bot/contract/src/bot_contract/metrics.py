"""Prometheus metric and label names, defined once for the bot, dashboards, rules, infra, gates.

Each :class:`Metric` holds the name as passed to ``prometheus_client`` (a counter's name is
given without ``_total``; the client appends it). :func:`series_names` lists the series that
appear on ``/metrics`` for a metric, which is what PromQL refers to.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    """The Prometheus metric type."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Metric:
    """One metric of the contract: its name, type, help text and label names."""

    name: str
    kind: Kind
    documentation: str
    labels: tuple[str, ...] = ()

    @property
    def series(self) -> str:
        """The main series name PromQL uses (``_total`` for counters, the bare name otherwise)."""
        return f"{self.name}_total" if self.kind is Kind.COUNTER else self.name


def series_names(metric: Metric) -> tuple[str, ...]:
    """Every series name the exposition format shows for ``metric``."""
    if metric.kind is Kind.COUNTER:
        return (f"{metric.name}_total", f"{metric.name}_created")
    if metric.kind is Kind.HISTOGRAM:
        base = metric.name
        return (f"{base}_bucket", f"{base}_sum", f"{base}_count", f"{base}_created")
    return (metric.name,)


# --- Label names ------------------------------------------------------------------------------
LABEL_UPDATE_TYPE: Final = "update_type"
LABEL_OUTCOME: Final = "outcome"
LABEL_REASON: Final = "reason"
LABEL_METHOD: Final = "method"
LABEL_STATUS: Final = "status"
LABEL_SCOPE: Final = "scope"
LABEL_RESULT: Final = "result"


class Outcome(StrEnum):
    """How the webhook answered one delivery (the ``outcome`` label of :data:`UPDATES`)."""

    HANDLED = "handled"  # processed and committed, 200
    DUPLICATE = "duplicate"  # update_id already committed, 200, no effect
    DEAD_LETTER = "dead_letter"  # unparseable or poison payload, stored, 200
    UNHANDLED = "unhandled"  # a valid update no handler knows, 200
    RETRY = "retry"  # transient failure (DB down, timeout), 503 + Retry-After
    SHED = "shed"  # the in-flight cap was full, 503 + Retry-After


# --- The bot ----------------------------------------------------------------------------------
UPDATES: Final = Metric(
    "tgbot_updates",
    Kind.COUNTER,
    "Webhook deliveries by update type and outcome.",
    (LABEL_UPDATE_TYPE, LABEL_OUTCOME),
)
UPDATE_DURATION: Final = Metric(
    "tgbot_update_duration_seconds",
    Kind.HISTOGRAM,
    "Time from receiving a delivery to answering it, by update type.",
    (LABEL_UPDATE_TYPE,),
)
UPDATES_IN_FLIGHT: Final = Metric(
    "tgbot_updates_in_flight",
    Kind.GAUGE,
    "Deliveries being processed right now in this process (the autoscaling signal).",
)
UPDATES_IN_FLIGHT_LIMIT: Final = Metric(
    "tgbot_updates_in_flight_limit",
    Kind.GAUGE,
    "The per-process cap on in-flight deliveries; past it the bot answers 503.",
)
DUPLICATES: Final = Metric(
    "tgbot_duplicate_updates",
    Kind.COUNTER,
    "Redelivered updates whose update_id was already committed (answered 200, no effect).",
    (LABEL_UPDATE_TYPE,),
)
DEAD_LETTERS: Final = Metric(
    "tgbot_dead_letters",
    Kind.COUNTER,
    "Payloads stored in the dead-letter table instead of processed, by reason.",
    (LABEL_REASON,),
)
AUTH_REJECTED: Final = Metric(
    "tgbot_webhook_auth_rejected",
    Kind.COUNTER,
    "Deliveries refused with 401 for a missing or wrong secret token.",
)
BOT_API_REQUESTS: Final = Metric(
    "tgbot_bot_api_requests",
    Kind.COUNTER,
    "Outgoing Bot API calls by method and HTTP status (or 'error' when no answer came).",
    (LABEL_METHOD, LABEL_STATUS),
)
BOT_API_DURATION: Final = Metric(
    "tgbot_bot_api_request_duration_seconds",
    Kind.HISTOGRAM,
    "Latency of outgoing Bot API calls by method.",
    (LABEL_METHOD,),
)
BOT_API_RATE_LIMITED: Final = Metric(
    "tgbot_bot_api_rate_limited",
    Kind.COUNTER,
    "Bot API answers of 429 Too Many Requests, by method.",
    (LABEL_METHOD,),
)
DB_POOL_SIZE: Final = Metric(
    "tgbot_db_pool_size", Kind.GAUGE, "Connections currently held by the database pool."
)
DB_POOL_IN_USE: Final = Metric(
    "tgbot_db_pool_in_use", Kind.GAUGE, "Pool connections lent out to a request right now."
)
DB_POOL_WAITING: Final = Metric(
    "tgbot_db_pool_waiting", Kind.GAUGE, "Requests waiting for a pool connection right now."
)
READY: Final = Metric(
    "tgbot_ready", Kind.GAUGE, "1 while the process is ready for traffic, 0 while draining."
)

OUTBOX_DEPTH: Final = Metric(
    "tgbot_outbox_depth",
    Kind.GAUGE,
    "Outbox rows not yet sent (pending, leased or sending), fleet-wide, sampled by a sender.",
)
OUTBOX_OLDEST_AGE: Final = Metric(
    "tgbot_outbox_oldest_age_seconds",
    Kind.GAUGE,
    "Age of the oldest unsent outbox row, fleet-wide (a leading signal of a backlog).",
)
OUTBOX_SENDS: Final = Metric(
    "tgbot_outbox_sends",
    Kind.COUNTER,
    "Outbox calls made by the sender, by result (sent, failed for good, retry).",
    (LABEL_RESULT,),
)
OUTBOX_THROTTLED: Final = Metric(
    "tgbot_outbox_throttled",
    Kind.COUNTER,
    "Sends held because their slot was past the max wait (held or back to pending; none spent).",
)
OUTBOX_SLOT_DELAY: Final = Metric(
    "tgbot_outbox_slot_delay_seconds",
    Kind.HISTOGRAM,
    "Wait between taking a send slot and the slot's time.",
)
OUTBOX_IN_DOUBT: Final = Metric(
    "tgbot_outbox_in_doubt",
    Kind.COUNTER,
    "Rows taken over from a dead sender after their call may have gone out (duplicate window).",
)

BOT_METRICS: Final[tuple[Metric, ...]] = (
    UPDATES,
    UPDATE_DURATION,
    UPDATES_IN_FLIGHT,
    UPDATES_IN_FLIGHT_LIMIT,
    DUPLICATES,
    DEAD_LETTERS,
    AUTH_REJECTED,
    BOT_API_REQUESTS,
    BOT_API_DURATION,
    BOT_API_RATE_LIMITED,
    DB_POOL_SIZE,
    DB_POOL_IN_USE,
    DB_POOL_WAITING,
    READY,
    OUTBOX_DEPTH,
    OUTBOX_OLDEST_AGE,
    OUTBOX_SENDS,
    OUTBOX_THROTTLED,
    OUTBOX_SLOT_DELAY,
    OUTBOX_IN_DOUBT,
)

# --- The load suite (exported by the Locust process) ---------------------------------------
LOAD_OFFERED: Final = Metric(
    "tgload_updates_offered",
    Kind.COUNTER,
    "Updates the simulated Telegram created (the offered load), by update type.",
    (LABEL_UPDATE_TYPE,),
)
LOAD_ACKED: Final = Metric(
    "tgload_updates_acked",
    Kind.COUNTER,
    "Updates the webhook acknowledged with a 2xx, by update type.",
    (LABEL_UPDATE_TYPE,),
)
LOAD_DELIVERIES: Final = Metric(
    "tgload_deliveries",
    Kind.COUNTER,
    "Webhook POST attempts by update type and HTTP status ('timeout' or 'error' when none came).",
    (LABEL_UPDATE_TYPE, LABEL_STATUS),
)
LOAD_REDELIVERIES: Final = Metric(
    "tgload_redeliveries",
    Kind.COUNTER,
    "Repeated deliveries of one update (after a non-2xx, a timeout, or duplicate injection).",
    (LABEL_UPDATE_TYPE,),
)
LOAD_EXPIRED: Final = Metric(
    "tgload_updates_expired",
    Kind.COUNTER,
    "Updates dropped undelivered at their expiry (24 h for messages, 150 s for callbacks).",
    (LABEL_UPDATE_TYPE,),
)
LOAD_RESPONSE_DURATION: Final = Metric(
    "tgload_response_duration_seconds",
    Kind.HISTOGRAM,
    "Webhook response time as the load generator saw it, by update type.",
    (LABEL_UPDATE_TYPE,),
)
LOAD_DELIVERY_LAG: Final = Metric(
    "tgload_delivery_lag_seconds",
    Kind.HISTOGRAM,
    "Time from an update's creation to its acknowledgement, retries and queueing included.",
    (LABEL_UPDATE_TYPE,),
)
LOAD_PENDING: Final = Metric(
    "tgload_pending_updates",
    Kind.GAUGE,
    "Updates created but not yet acknowledged (getWebhookInfo's pending_update_count).",
)
LOAD_IN_FLIGHT: Final = Metric(
    "tgload_requests_in_flight",
    Kind.GAUGE,
    "Webhook requests open right now (at most max_connections in the telegram model).",
)
LOAD_TARGET_RATE: Final = Metric(
    "tgload_target_rate",
    Kind.GAUGE,
    "The arrival rate the load shape asks for right now, in updates per second.",
)

LOAD_METRICS: Final[tuple[Metric, ...]] = (
    LOAD_OFFERED,
    LOAD_ACKED,
    LOAD_DELIVERIES,
    LOAD_REDELIVERIES,
    LOAD_EXPIRED,
    LOAD_RESPONSE_DURATION,
    LOAD_DELIVERY_LAG,
    LOAD_PENDING,
    LOAD_IN_FLIGHT,
    LOAD_TARGET_RATE,
)

# --- The Bot API emulator ---------------------------------------------------------------------
EMULATOR_REQUESTS: Final = Metric(
    "tgemu_requests",
    Kind.COUNTER,
    "Bot API calls the emulator answered, by method and HTTP status.",
    (LABEL_METHOD, LABEL_STATUS),
)
EMULATOR_RATE_LIMITED: Final = Metric(
    "tgemu_rate_limited",
    Kind.COUNTER,
    "Calls answered 429 by the emulator's flood control, by method and scope (chat/group/global).",
    (LABEL_METHOD, LABEL_SCOPE),
)
EMULATOR_INJECTED_ERRORS: Final = Metric(
    "tgemu_injected_errors",
    Kind.COUNTER,
    "Errors the emulator injected on purpose, by method.",
    (LABEL_METHOD,),
)

EMULATOR_METRICS: Final[tuple[Metric, ...]] = (
    EMULATOR_REQUESTS,
    EMULATOR_RATE_LIMITED,
    EMULATOR_INJECTED_ERRORS,
)

#: Buckets for webhook processing time: dense under 100 ms, where the SLOs are.
DURATION_BUCKETS_S: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


def all_metrics() -> tuple[Metric, ...]:
    """Every metric of the contract: the bot's, the load suite's and the emulator's."""
    return BOT_METRICS + LOAD_METRICS + EMULATOR_METRICS
