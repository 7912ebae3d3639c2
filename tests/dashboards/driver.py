"""A small Telegram-like load driver that exports the load suite's ``tgload_*`` metrics.

It is what the real-data proof uses to put a bot under load: it
creates updates from :mod:`bot_contract.updates` at a target rate that steps up, delivers them
to the webhook over at most ``max_connections`` concurrent requests, redelivers after a 503
(honouring ``Retry-After``, bounded), and measures what the load-suite dashboards read. It also
injects one of each irregular delivery (a redelivered update, a wrong secret, a body that is not
JSON, an unknown update type) so the bot's reliability counters have data. The full Locust
suite lives in ``loadtest``; this driver only needs ``httpx``.
"""

import asyncio
import itertools
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from bot_contract import metrics as m
from bot_contract import updates as u
from bot_contract.webhook import MAX_CONNECTIONS_DEFAULT, SECRET_HEADER

#: Redeliveries of one update before the driver gives up on it (counted as expired).
MAX_ATTEMPTS: Final = 8
#: Longest pause the driver honours from a Retry-After header, so short runs stay short.
MAX_RETRY_AFTER_S: Final = 1.0


def _counter(metric: m.Metric, registry: CollectorRegistry) -> Counter:
    """``metric`` as a Counter in ``registry``, with the contract's name, help and labels."""
    return Counter(metric.name, metric.documentation, metric.labels, registry=registry)


def _histogram(metric: m.Metric, registry: CollectorRegistry) -> Histogram:
    """``metric`` as a Histogram in ``registry``, on the contract's duration buckets."""
    return Histogram(
        metric.name,
        metric.documentation,
        metric.labels,
        buckets=m.DURATION_BUCKETS_S,
        registry=registry,
    )


def _gauge(metric: m.Metric, registry: CollectorRegistry) -> Gauge:
    """``metric`` as a Gauge in ``registry``, with the contract's name, help and labels."""
    return Gauge(metric.name, metric.documentation, metric.labels, registry=registry)


@dataclass
class DriverMetrics:
    """The load suite's metrics of the contract, in their own registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.offered = _counter(m.LOAD_OFFERED, r)
        self.acked = _counter(m.LOAD_ACKED, r)
        self.deliveries = _counter(m.LOAD_DELIVERIES, r)
        self.redeliveries = _counter(m.LOAD_REDELIVERIES, r)
        self.expired = _counter(m.LOAD_EXPIRED, r)
        self.response = _histogram(m.LOAD_RESPONSE_DURATION, r)
        self.lag = _histogram(m.LOAD_DELIVERY_LAG, r)
        self.pending = _gauge(m.LOAD_PENDING, r)
        self.in_flight = _gauge(m.LOAD_IN_FLIGHT, r)
        self.target_rate = _gauge(m.LOAD_TARGET_RATE, r)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve ``/metrics`` on ``port`` of ``host`` (0: an ephemeral one); returns the port.

        A given port is where a Prometheus already looks, e.g. the local environment's
        ``locust_metrics_port``.
        """
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_port)


@dataclass(frozen=True)
class Stage:
    """Deliver ``rate`` updates per second for ``seconds``."""

    seconds: float
    rate: float


@dataclass
class Totals:
    """What one run did, for progress output and for waiting on Prometheus."""

    offered: int = 0
    acked: int = 0
    failed_attempts: int = 0
    expired: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


class Driver:
    """Delivers generated updates to one webhook and records the load-suite metrics."""

    def __init__(
        self,
        webhook_url: str,
        secret: str,
        *,
        metrics: DriverMetrics | None = None,
        users: int = 40,
        max_connections: int = MAX_CONNECTIONS_DEFAULT,
        seed: int = 6,
    ) -> None:
        self.webhook_url = webhook_url
        self.secret = secret
        self.metrics = metrics or DriverMetrics()
        self.max_connections = max_connections
        self.totals = Totals()
        self._random = random.Random(seed)
        self._users = [u.User(id=10_000 + i, first_name=f"user{i}") for i in range(users)]
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._started_users: set[int] = set()

    def _next_update(self) -> dict[str, Any]:
        user = self._random.choice(self._users)
        chat = u.Chat.private(user)
        now = int(time.time())
        update_id = next(self._update_ids)
        if user.id not in self._started_users:
            self._started_users.add(user.id)
            text = "/start"
        else:
            kind = self._random.choices(
                ("text", "command", "callback", "edited"), weights=(60, 20, 15, 5)
            )[0]
            if kind == "callback":
                return u.callback_query_update(
                    update_id,
                    query_id=f"q{update_id}",
                    user=user,
                    chat=chat,
                    message_id=next(self._message_ids),
                    message_date=now,
                    data="notes:1",
                )
            if kind == "edited":
                return u.edited_message_update(
                    update_id,
                    message_id=next(self._message_ids),
                    user=user,
                    chat=chat,
                    date=now - 5,
                    edit_date=now,
                    text="edited",
                )
            text = "/notes" if kind == "command" else f"hello {update_id}"
        return u.text_update(
            update_id, message_id=next(self._message_ids), user=user, chat=chat, date=now, text=text
        )

    async def _post(self, client: httpx.AsyncClient, body: bytes, secret: str) -> str:
        """POST one delivery; returns the status as the ``status`` label spells it."""
        headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
        try:
            response = await client.post(self.webhook_url, content=body, headers=headers)
        except httpx.TimeoutException:
            return "timeout"
        except httpx.HTTPError:
            return "error"
        retry_after = response.headers.get("Retry-After", "")
        if response.status_code >= 500 and retry_after.replace(".", "", 1).isdigit():
            await asyncio.sleep(min(float(retry_after), MAX_RETRY_AFTER_S))
        return str(response.status_code)

    async def _deliver(
        self, client: httpx.AsyncClient, slots: asyncio.Semaphore, update: Any
    ) -> None:
        kind = str(u.update_kind(update) or "unknown")
        created = time.monotonic()
        body = json.dumps(update).encode()
        metrics, totals = self.metrics, self.totals
        metrics.offered.labels(kind).inc()
        totals.offered += 1
        metrics.pending.inc()
        try:
            for attempt in range(MAX_ATTEMPTS):
                if attempt:
                    metrics.redeliveries.labels(kind).inc()
                async with slots:
                    metrics.in_flight.inc()
                    started = time.monotonic()
                    try:
                        status = await self._post(client, body, self.secret)
                    finally:
                        metrics.in_flight.dec()
                metrics.response.labels(kind).observe(time.monotonic() - started)
                metrics.deliveries.labels(kind, status).inc()
                totals.statuses[status] = totals.statuses.get(status, 0) + 1
                if status.startswith("2"):
                    metrics.acked.labels(kind).inc()
                    metrics.lag.labels(kind).observe(time.monotonic() - created)
                    totals.acked += 1
                    return
                totals.failed_attempts += 1
            metrics.expired.labels(kind).inc()
            totals.expired += 1
        finally:
            metrics.pending.dec()

    async def _irregular(self, client: httpx.AsyncClient, slots: asyncio.Semaphore) -> None:
        """One of each delivery the bot must answer specially."""
        user = self._users[0]
        update = u.text_update(
            next(self._update_ids),
            message_id=next(self._message_ids),
            user=user,
            chat=u.Chat.private(user),
            date=int(time.time()),
            text="delivered twice",
        )
        await self._deliver(client, slots, update)
        await self._deliver(client, slots, update)  # Telegram redelivers: a duplicate
        await self._post(client, json.dumps(update).encode(), "wrong-secret")
        await self._post(client, b"{not json", self.secret)
        unknown = {"update_id": next(self._update_ids), "chat_boost": {"chat": {"id": 1}}}
        await self._deliver(client, slots, unknown)

    async def run(self, stages: Sequence[Stage], *, progress: bool = False) -> Totals:
        """Deliver updates through ``stages``, then wait for every delivery to finish."""
        slots = asyncio.Semaphore(self.max_connections)
        limits = httpx.Limits(max_connections=self.max_connections)
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10.0)) as client:
            tasks.add(asyncio.create_task(self._irregular(client, slots)))
            for stage in stages:
                self.metrics.target_rate.set(stage.rate)
                interval = 1.0 / stage.rate
                deadline = time.monotonic() + stage.seconds
                next_at = time.monotonic()
                while next_at < deadline:
                    task = asyncio.create_task(self._deliver(client, slots, self._next_update()))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    next_at += interval
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                if progress:
                    t = self.totals
                    print(
                        f"driver: {stage.rate:g}/s for {stage.seconds:g}s done; "
                        f"offered {t.offered}, acked {t.acked}, statuses {t.statuses}",
                        flush=True,
                    )
            self.metrics.target_rate.set(0)
            if tasks:
                await asyncio.gather(*tasks)
        return self.totals
