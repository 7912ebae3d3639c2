"""The Locust user: one Telegram webhook connection (telegram model) or an arrival driver (open).

In the telegram model every user is one of Telegram's ``max_connections`` connections: it
takes the head of a ready chat queue, POSTs it (one update per request, keep-alive), and
settles it (ack, or retry later, see ``delivery.py``). Since a user has one request in flight
at a time, the in-flight count never exceeds the number of users, which the shape sets to
``max_connections``. In the open model one user per process paces arrivals and fires each
update on its own greenlet. Stats entries are named ``update:<type>[:<command>]``.
"""

from __future__ import annotations

from locust import FastHttpUser, constant, task

import time
from typing import TYPE_CHECKING

import gevent
import orjson
from gevent.pool import Pool

from bot_contract.webhook import DELIVERY_TIMEOUT_S
from loadtest.delivery import BodyReplies, parse_retry_after
from loadtest.runtime import runtime_of

if TYPE_CHECKING:
    from locust.contrib.fasthttp import FastResponse
    from locust.env import Environment

    from bot_contract.traffic import GeneratedUpdate
    from loadtest.runtime import LoadRuntime

#: Cap on concurrent requests of the open model per process (a safety net, not a model).
OPEN_MAX_CONCURRENCY = 5000
#: Attribute of the LoadRuntime holding the process's BodyReplies (made by the first user).
_BODY_REPLIES = "tgscale_body_replies"


def _status(response: FastResponse) -> int | str:
    """The HTTP status, or ``timeout``/``error`` when no answer came."""
    if response.status_code:
        return int(response.status_code)
    error = getattr(response, "error", None)
    return (
        "timeout"
        if "timeout" in type(error).__name__.lower() or "timed out" in str(error)
        else "error"
    )


def _body_replies(runtime: LoadRuntime) -> BodyReplies | None:
    """The process's executors of webhook-answer methods, made once; ``None`` without emulator."""
    settings = runtime.settings
    if not settings.emulator_url:
        return None
    found: BodyReplies | None = getattr(runtime, _BODY_REPLIES, None)
    if found is None:
        found = BodyReplies(settings.emulator_url, settings.bot_token, runtime.tally)
        setattr(runtime, _BODY_REPLIES, found)  # LoadRuntime lives as long as the run
    return found


class TelegramUpdateUser(FastHttpUser):
    """Delivers updates to ``--host`` + ``--webhook-path`` as the profile's model says."""

    wait_time = constant(0)
    network_timeout = DELIVERY_TIMEOUT_S
    connection_timeout = DELIVERY_TIMEOUT_S

    def __init__(self, environment: Environment) -> None:
        """A connection of the telegram model needs one socket; the open model many."""
        open_model = runtime_of(environment).model == "open"
        self.concurrency = OPEN_MAX_CONCURRENCY if open_model else 1
        super().__init__(environment)

    def on_start(self) -> None:
        """Look the run's runtime up once (users are spawned anew for every test)."""
        self.runtime = runtime_of(self.environment)
        self.body_replies = _body_replies(self.runtime)

    @task
    def deliver(self) -> None:
        """Send the next ready update (telegram) or run the arrival schedule (open)."""
        runtime = self.runtime
        if runtime.model == "open":
            self._drive_open(runtime)
            return
        queues = runtime.queues
        if queues is None:  # the generator starts at test_start; users may be a tick early
            gevent.sleep(0.1)
            return
        entry = queues.take(timeout=1.0)
        if entry is None:
            return
        response = self.client.post(
            runtime.settings.webhook_path,
            data=entry.body,  # type: ignore[arg-type]  # geventhttpclient sends bytes as is
            headers=runtime.headers,
            name=entry.name,
        )
        status = _status(response)
        if self.body_replies is not None:  # only with --emulator-url: no cost otherwise
            self._answered(status, response)
        retry_after = None
        if status != 200 and response.headers is not None:
            value = response.headers.get("Retry-After")
            retry_after = parse_retry_after(value[0] if isinstance(value, list) else value)
        queues.settle(entry, status, retry_after)

    def _answered(self, status: int | str, response: FastResponse) -> None:
        """Hand a non-empty 2xx answer to the body-reply executors (with an emulator only)."""
        if not isinstance(status, int) or not 200 <= status <= 299:
            return
        content = response.content
        if content and self.body_replies is not None:  # an empty 200 is neither parsed nor queued
            self.body_replies.submit(content)

    def _drive_open(self, runtime: LoadRuntime) -> None:
        arrivals = runtime.arrivals
        if arrivals is None or arrivals.started is not None:
            gevent.sleep(0.5)  # not started yet, or this process's schedule already ran
            return
        pool = Pool(OPEN_MAX_CONCURRENCY)
        tally = runtime.tally

        def fire(item: GeneratedUpdate) -> None:
            tally.offered[item.kind.value] += 1
            if pool.full():
                tally.not_created += 1
                return
            pool.spawn(self._post_once, runtime, item)

        arrivals.sink = fire
        arrivals.run()
        pool.join(timeout=DELIVERY_TIMEOUT_S)

    def _post_once(self, runtime: LoadRuntime, item: GeneratedUpdate) -> None:
        runtime.open_in_flight += 1
        runtime.open_max_in_flight = max(runtime.open_max_in_flight, runtime.open_in_flight)
        kind = item.kind.value
        try:
            response = self.client.post(
                runtime.settings.webhook_path,
                data=orjson.dumps(item.update),  # type: ignore[arg-type]  # bytes are sent as is
                headers=runtime.headers,
                name=item.name,
            )
        finally:
            runtime.open_in_flight -= 1
        status = _status(response)
        if self.body_replies is not None:
            self._answered(status, response)
        tally = runtime.tally
        tally.deliveries[f"{kind}|{status}"] += 1
        if isinstance(status, int) and 200 <= status <= 299:
            tally.acked[kind] += 1
            tally.record_lag(kind, time.time() - item.created)
            if item.reply_to is not None:
                tally.reply_messages.append(item.reply_to)
            elif item.callback_query_id is not None:
                tally.reply_callbacks.append(item.callback_query_id)
