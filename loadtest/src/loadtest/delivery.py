"""The two delivery models: how a simulated Telegram hands updates to the webhook.

*telegram* (:class:`WebhookQueues`) follows Telegram's ``WebhookActor``: one FIFO per chat
(per user for callback queries), only the head of a queue is ever sent, so a failing update
blocks its chat (head-of-line blocking) while other chats go on; at most ``max_connections``
requests in flight (one per Locust user, see ``users.py``); a failed attempt (non-2xx,
timeout, closed connection) is retried after ``Retry-After`` (clamped to 0..3600 s) or after
1 s doubling to a random 60..120 s cap, and dropped once the retry would land past the
update's expiry (24 h for messages, 150 s for callback queries).

*open* sends every arrival at once on its own greenlet, with as much concurrency as needed,
to find a breaking point rather than to imitate Telegram.

:class:`Arrivals` paces update creation to the shape's rate (updates per second) for both.

:class:`BodyReplies` executes a Bot API method found in a 2xx webhook answer against the
emulator, as Telegram does with a method in the response body (off the delivery's path).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import gevent
import orjson
from gevent.queue import Empty, Full, Queue
from geventhttpclient import HTTPClient

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from bot_contract.traffic import GeneratedUpdate, TrafficGenerator
    from loadtest.shapes import RateShape
    from loadtest.tally import Tally

#: Telegram's retry schedule (WebhookActor.cpp): Retry-After clamp, first delay, cap range.
RETRY_AFTER_MAX_S = 3600.0
FIRST_RETRY_S = 1.0
RETRY_CAP_RANGE_S = (60.0, 120.0)
#: Arrivals are created in ticks of this length; a tick never creates more than MAX_PER_TICK.
ARRIVAL_TICK_S = 0.01
MAX_PER_TICK = 2000
#: Methods Telegram does not execute from a webhook answer (besides every ``get*`` method).
SKIPPED_BODY_METHODS = frozenset({"setwebhook", "deletewebhook", "close", "logout"})
#: Body replies executed at once per process, and how many may wait for a free executor.
BODY_REPLY_CONCURRENCY = 16
BODY_REPLY_BACKLOG = 10_000
BODY_REPLY_TIMEOUT_S = 30.0


def retry_delay(attempts: int, retry_after: float | None, cap: float) -> float:
    """Seconds until the next attempt after ``attempts`` failed ones (Telegram's schedule)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_MAX_S)
    return float(min(FIRST_RETRY_S * 2 ** (attempts - 1), cap))


def parse_retry_after(value: str | None) -> float | None:
    """The ``Retry-After`` header in seconds (only the delta-seconds form), else ``None``."""
    if not value:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


@dataclass(slots=True)
class Pending:
    """One update waiting in (or at the head of) its queue: its encoded body and metadata.

    The Update dict itself is not kept: fewer live objects keep the garbage collector cheap.
    """

    body: bytes
    kind: str
    name: str
    update_id: int
    queue_key: int
    created: float
    expires: float
    reply_to: tuple[int, int] | None
    callback_query_id: str | None
    retry_cap: float
    attempts: int = 0
    duplicate_sent: bool = False


@dataclass
class WebhookQueues:
    """Telegram's per-chat FIFOs, for one load-generator process (see the module docstring)."""

    tally: Tally
    rng: random.Random
    duplicate_ratio: float = 0.0
    max_pending: int = 1_000_000
    clock: Callable[[], float] = time.time
    queues: dict[int, deque[Pending]] = field(default_factory=dict)
    ready: Queue[int] = field(default_factory=Queue)
    pending: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def offer(self, item: GeneratedUpdate, body: bytes) -> bool:
        """Store a new update; ``False`` (and counted) when ``max_pending`` is reached."""
        if self.pending >= self.max_pending:
            self.tally.not_created += 1
            return False
        kind = item.kind.value
        entry = Pending(
            body,
            kind,
            item.name,
            item.update["update_id"],
            item.queue_key,
            item.created,
            item.expires,
            item.reply_to,
            item.callback_query_id,
            self.rng.uniform(*RETRY_CAP_RANGE_S),
        )
        self.tally.offered[kind] += 1
        self.pending += 1
        queue = self.queues.get(item.queue_key)
        if queue is None:
            self.queues[item.queue_key] = deque((entry,))
            self.ready.put_nowait(item.queue_key)  # a new queue's head may go right away
        else:
            queue.append(entry)  # waits behind the head (head-of-line)
        return True

    def take(self, timeout: float) -> Pending | None:
        """The head of a ready queue, marked in flight; ``None`` when nothing is ready in time."""
        while True:
            try:
                key = self.ready.get(timeout=timeout)
            except Empty:
                return None
            queue = self.queues[key]
            head = queue[0]
            if self.clock() >= head.expires:
                self._drop(key, head, expired=True)
                continue
            head.attempts += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return head

    def settle(self, entry: Pending, status: int | str, retry_after: float | None) -> float | None:
        """Record the attempt's outcome; returns the retry delay, or ``None`` if it is done."""
        self.in_flight -= 1
        kind = entry.kind
        self.tally.deliveries[f"{kind}|{status}"] += 1
        if entry.attempts > 1:
            self.tally.redeliveries[kind] += 1
        key = entry.queue_key
        if isinstance(status, int) and 200 <= status <= 299:
            if (
                self.duplicate_ratio
                and not entry.duplicate_sent
                and self.rng.random() < self.duplicate_ratio
            ):
                # The "lost 2xx": the bot acknowledged, Telegram never saw it and resends.
                entry.duplicate_sent = True
                self.tally.duplicates_injected += 1
                self._retry_later(key, FIRST_RETRY_S)
                return FIRST_RETRY_S
            self._drop(key, entry, expired=False)
            return None
        delay = retry_delay(entry.attempts, retry_after, entry.retry_cap)
        if self.clock() + delay >= entry.expires:
            self._drop(key, entry, expired=True)
            return None
        self._retry_later(key, delay)
        return delay

    def _retry_later(self, key: int, delay: float) -> None:
        gevent.spawn_later(delay, self.ready.put_nowait, key)

    def _drop(self, key: int, entry: Pending, *, expired: bool) -> None:
        queue = self.queues[key]
        queue.popleft()
        self.pending -= 1
        if expired:
            self.tally.expired[entry.kind] += 1
        else:
            self.tally.acked[entry.kind] += 1
            self.tally.record_lag(entry.kind, self.clock() - entry.created)
            if entry.reply_to is not None:
                self.tally.reply_messages.append(entry.reply_to)
            elif entry.callback_query_id is not None:
                self.tally.reply_callbacks.append(entry.callback_query_id)
        if queue:
            self.ready.put_nowait(key)  # the next update of this chat may go now
        else:
            del self.queues[key]


@dataclass
class Arrivals:
    """Creates updates at ``shape.rate_at(t) * share`` per second and hands them to ``sink``."""

    shape: RateShape
    generator: TrafficGenerator
    sink: Callable[[GeneratedUpdate], None]
    share: float = 1.0
    rate_scale: float = 1.0
    room: Callable[[], int] | None = None  # how many more updates may be created right now
    clock: Callable[[], float] = time.monotonic
    started: float | None = None
    target_total: float = 0.0  # updates the shape asked this process for so far
    created: int = 0
    tally: Tally | None = None  # counts updates skipped for lack of room

    def run(self) -> None:
        """Pace arrivals until the shape's schedule ends (meant to run on its own greenlet)."""
        start = self.started = self.clock()
        last, credit = start, 0.0
        while True:
            now = self.clock()
            rate = self.shape.rate_at(now - start)
            if rate is None:
                return
            due = rate * self.rate_scale * self.share * (now - last)
            self.target_total += due
            credit += due
            last = now
            count = min(int(credit), MAX_PER_TICK)
            credit -= count
            if self.room is not None and (room := self.room()) < count:
                # The backlog is at its cap: do not even build what could not be stored.
                skipped = count - max(room, 0)
                if self.tally is not None:
                    self.tally.not_created += skipped
                count -= skipped
            for _ in range(count):
                self.sink(self.generator.next())
            self.created += count
            gevent.sleep(ARRIVAL_TICK_S if count < MAX_PER_TICK else 0)


def body_method(body: bytes) -> tuple[str, dict[str, object]] | None:
    """The ``(method, parameters)`` of a webhook answer, or ``None`` if it holds no method."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    method = data.pop("method", None)
    if not isinstance(method, str) or not method:
        return None
    return method, data


def executes(method: str) -> bool:
    """Whether Telegram executes ``method`` from a webhook answer (not ``get*`` and the like)."""
    name = method.lower()
    return not name.startswith("get") and name not in SKIPPED_BODY_METHODS


class BodyReplies:
    """Runs the methods of 2xx webhook answers against the emulator, off the delivery's path.

    :meth:`submit` only queues the answer's bytes (a full queue counts ``dropped``), so the
    connection that delivered the update goes on at once; ``concurrency`` greenlets parse and
    POST them to ``<emulator>/bot<token>/<method>`` as JSON. Outcomes are counted in
    ``tally.body_replies``: ``executed``, ``failed`` (no answer or ``"ok": false``),
    ``skipped`` (a method Telegram skips), ``ignored`` (no method), ``dropped``.
    """

    def __init__(
        self,
        emulator_url: str,
        token: str,
        tally: Tally,
        *,
        concurrency: int = BODY_REPLY_CONCURRENCY,
        backlog: int = BODY_REPLY_BACKLOG,
    ) -> None:
        """Set up the client and start ``concurrency`` executor greenlets."""
        self.tally = tally
        root = urlsplit(emulator_url).path.rstrip("/")  # an emulator behind a path prefix
        self.prefix = f"{root}/bot{token}/"
        self.client = HTTPClient.from_url(
            emulator_url,
            concurrency=concurrency,
            connection_timeout=BODY_REPLY_TIMEOUT_S,
            network_timeout=BODY_REPLY_TIMEOUT_S,
        )
        self.queue: Queue[bytes] = Queue(maxsize=backlog)
        self.greenlets = [gevent.spawn(self._work) for _ in range(concurrency)]

    def submit(self, body: bytes) -> None:
        """Queue a non-empty 2xx answer for execution (never blocks)."""
        try:
            self.queue.put_nowait(body)
        except Full:
            self.tally.body_replies["dropped"] += 1

    def _work(self) -> None:
        while True:
            self._execute(self.queue.get())

    def _execute(self, body: bytes) -> None:
        # Looked up at each count: a worker's drain swaps the Counter for a fresh one.
        counts = self.tally.body_replies
        found = body_method(body)
        if found is None:
            counts["ignored"] += 1
            return
        method, parameters = found
        if not executes(method):
            counts["skipped"] += 1
            return
        try:
            response = self.client.post(
                self.prefix + method,
                body=orjson.dumps(parameters),
                headers={"Content-Type": "application/json"},
            )
            answer = orjson.loads(response.read())
        except Exception:  # a transport error or a non-JSON answer fails it, never a crash
            self.tally.body_replies["failed"] += 1
            return
        ok = response.status_code == 200 and isinstance(answer, dict) and answer.get("ok") is True
        self.tally.body_replies["executed" if ok else "failed"] += 1
