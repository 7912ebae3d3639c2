"""The sender: delivers the outbox after commit, in each chat's order, under the fleet's limits.

Each round it leases due rows (``outbox_lease``: ``FOR UPDATE SKIP LOCKED``, only a chat's
first open row, a lease that any other sender takes over when it expires), then per row:

1. takes a send slot on all the row's keys at once (``take_slots``: the chat 1/s, the group
   20/min, the fleet's global rate; or, over the global rate, the ``allow_paid_broadcast``
   lane). A refusal spends no budget: the row holds (still leased) until its slot is near,
   and goes back to pending only if that is further than ``BOT_SENDER_HOLD_S``;
2. calls the Bot API, outside any transaction;
3. records the result: sent (with ``message_id``), failed for good (403, 400: with the
   error), or retry at T (5xx, timeouts; a 429 also defers the key fleet-wide by
   ``retry_after``). Results are written in batches, one statement per batch.

**The duplicate window.** A call is made twice only if its sender dies after the Bot API
answered and before the result was written (at most one batch interval plus the write). The
slot statement marks a row ``sending`` just before its call, so a takeover of a ``sending``
row is counted (``tgbot_outbox_in_doubt_total``): an upper bound of the calls sent twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any

from bot.botapi import BotApiError, RetryAfterError, TransientApiError
from bot.failures import is_transient
from bot.repo import Outcome, Repo, SlotTake

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from bot.botapi import BotApi
    from bot.metrics import Metrics
    from bot.repo import Leased
    from bot.settings import Settings

log = logging.getLogger(__name__)

DESTINATION = "botapi"
#: Seconds between result flushes (the duplicate window's length, plus the write).
FLUSH_S = 0.01
#: Seconds between samples of the outbox's depth and oldest age.
STATS_S = 5.0
#: Backoff after a transient failure: attempts 1, 2, 3, ... wait 1, 2, 4, ... up to this.
MAX_BACKOFF_S = 30.0


class Sender:
    """One process's sender (a task in ``serve``, or ``python -m bot send``)."""

    def __init__(
        self,
        settings: Settings,
        pool: AsyncConnectionPool[Any],
        api: BotApi,
        metrics: Metrics,
        owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.api = api
        self.metrics = metrics
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[Outcome] = []
        self._flushed = asyncio.Event()
        s = settings
        self._intervals = {"chat": s.rate_chat_interval_s, "group": s.rate_group_interval_s}
        self._global = Budget(self, "global", s.rate_global_per_s) if s.rate_global_per_s else None
        self._paid = Budget(self, "paid", s.rate_paid_per_s) if s.rate_paid_per_s else None

    def wake(self) -> None:
        """New rows were committed in this process: look now instead of at the next poll."""
        self._wake.set()

    # --- the loop -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Deliver until cancelled; on cancel, finish the calls in flight and record them."""
        flusher = asyncio.create_task(self._flush_forever())
        stats = asyncio.create_task(self._stats_forever())
        try:
            while True:
                await self._round()
        finally:
            stats.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.settings.api_timeout_s + 1)
            for task in list(self._tasks):  # still holding for a slot: their leases expire
                task.cancel()
            flusher.cancel()
            await asyncio.gather(flusher, stats, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._flush()

    async def _round(self) -> None:
        free = self.settings.sender_concurrency - len(self._tasks)
        leased: list[Leased] = []
        if free > 0:
            try:
                async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
                    leased = await Repo(conn).lease(
                        DESTINATION, self.owner, free, self.settings.lease_s
                    )
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("sender: could not lease rows: %s", type(exc).__name__)
        for row in leased:
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if leased and len(leased) == free:
            await self._wait_for_room()
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.sender_poll_s):
                await self._wake.wait()

    async def _wait_for_room(self) -> None:
        """Every task is busy: wait until one ends (a result is queued) or the poll interval."""
        if len(self._tasks) >= self.settings.sender_concurrency:
            await asyncio.wait(
                self._tasks, timeout=self.settings.sender_poll_s,
                return_when=asyncio.FIRST_COMPLETED,
            )  # fmt: skip

    # --- one row ------------------------------------------------------------------------------
    async def _deliver(self, row: Leased) -> None:
        if row.in_doubt:
            self.metrics.outbox_in_doubt.inc()
            log.warning("sender: took over a row that may have been sent (id %d)", row.id)
        try:
            params = await self._take_slot(row)
            if params is None:
                return
            outcome = await self._call(row, params)
        except Exception as exc:
            if not is_transient(exc):
                log.exception("sender: unexpected failure on row %d", row.id)
            outcome = Outcome(row.id, "pending", retry_in=self._backoff(row))
        self._queue(outcome)

    async def _take_slot(self, row: Leased) -> dict[str, Any] | None:
        """Wait for a slot on every key of ``row``; the parameters to send, or None (released).

        The global (or paid) slot comes from this process's block of the fleet's budget
        (:class:`Budget`); the chat's and group's keys are then taken in one statement, not
        before that slot. A chat key that is further than ``BOT_RATE_MAX_WAIT_S`` refuses
        without spending anything, and the global slot goes back to the block.
        """
        loop = asyncio.get_running_loop()
        keys, intervals = self._limits(row.rate_keys)
        max_wait = self.settings.rate_max_wait_s
        deadline = loop.time() + self.settings.sender_hold_s
        while True:
            params, budget, at = row.params, None, loop.time()
            if "global" in row.rate_keys and self._global is not None:
                budget = self._global
                if self._paid is not None and self._global.next_free() - loop.time() > max_wait:
                    budget, params = self._paid, {**row.params, "allow_paid_broadcast": True}
                slot = await budget.acquire(deadline)
                if slot is None:
                    self._release(row, self.settings.sender_poll_s)
                    return None
                at = slot
            after = max(at - loop.time(), 0.0)
            async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
                repo = Repo(conn)
                if keys:
                    take = await repo.take_slots(
                        keys, intervals, max_wait + after, row.id, after_s=after
                    )
                else:
                    await repo.mark_sending(row.id)
                    take = SlotTake(True, after)
            if take.taken:
                self.metrics.outbox_slot_delay.observe(take.delay)
                if take.delay > 0:
                    await asyncio.sleep(take.delay)
                return params
            if budget is not None:
                budget.give_back(at)
            self.metrics.outbox_throttled.inc()
            wait = max(take.delay - after - max_wait, 0.01)
            if loop.time() + wait > deadline:
                self._release(row, wait)
                return None
            await asyncio.sleep(wait)

    def _release(self, row: Leased, retry_in: float) -> None:
        """Too far for this lease: back to pending until then (no budget was spent)."""
        self.metrics.outbox_throttled.inc()
        self._queue(Outcome(row.id, "pending", retry_in=max(retry_in, self.settings.sender_poll_s)))

    async def _call(self, row: Leased, params: dict[str, Any]) -> Outcome:
        try:
            result = await self.api.call(row.method, params)
        except RetryAfterError as exc:
            key = f"chat:{row.chat_id}" if f"chat:{row.chat_id}" in row.rate_keys else "global"
            with contextlib.suppress(Exception):
                async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
                    await Repo(conn).penalize(key, exc.retry_after)
            self.metrics.outbox_sends.labels("retry").inc()
            return Outcome(row.id, "pending", retry_in=exc.retry_after)
        except TransientApiError:
            self.metrics.outbox_sends.labels("retry").inc()
            return Outcome(row.id, "pending", retry_in=self._backoff(row))
        except BotApiError as exc:
            log.warning(
                "Bot API refused %s: %s", row.method, exc.description, extra={"status": exc.status}
            )
            self.metrics.outbox_sends.labels("failed").inc()
            return Outcome(row.id, "failed", error=f"{exc.status} {exc.description}"[:500])
        self.metrics.outbox_sends.labels("sent").inc()
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return Outcome(row.id, "sent", message_id if isinstance(message_id, int) else None)

    def _limits(self, keys: tuple[str, ...]) -> tuple[list[str], list[float]]:
        """The chat and group keys with a limit configured, and their intervals (sorted)."""
        chosen = [(k, self._intervals.get(k.split(":", 1)[0], 0.0)) for k in sorted(keys)]
        chosen = [(k, i) for k, i in chosen if i > 0]
        return [k for k, _ in chosen], [i for _, i in chosen]

    @staticmethod
    def _backoff(row: Leased) -> float:
        return min(MAX_BACKOFF_S, 2.0 ** max(row.attempts - 1, 0))

    # --- results ------------------------------------------------------------------------------
    def _queue(self, outcome: Outcome) -> None:
        self._results.append(outcome)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            if not self._results:
                continue
            try:
                await self._flush()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("sender: could not record results: %s", type(exc).__name__)
                await asyncio.sleep(self.settings.sender_poll_s)

    async def _flush(self) -> None:
        batch, self._results = self._results, []
        try:
            async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
                await Repo(conn).record(self.owner, batch)
        except BaseException:
            self._results[:0] = batch  # keep them for the next flush
            raise
        self._wake.set()  # a chat's next row may be due now

    async def _stats_forever(self) -> None:
        while True:
            try:
                async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
                    stats = await Repo(conn).outbox_stats(DESTINATION)
                self.metrics.outbox_depth.set(stats.depth)
                self.metrics.outbox_oldest_age.set(stats.oldest_age_s)
            except Exception as exc:
                if not is_transient(exc):
                    raise
            await asyncio.sleep(STATS_S)


class Budget:
    """A process's block of a fleet-wide key's slots (``global``, ``paid``).

    One hot row cannot take a statement per send: a sender takes ``BLOCK_S`` worth of
    consecutive slots in one ``take_slots`` (``p_count``) and hands them out in order. One
    task at a time fetches (a lock), waiting while the fleet's budget is further than
    ``BOT_RATE_MAX_WAIT_S`` away; a refusal spends nothing. Slots whose time passed unused
    are dropped (no bursts), and a slot a chat key refused goes back to the front.
    """

    #: Seconds of a key's rate taken in one statement, at least (more when fetching is slow).
    BLOCK_S = 0.05

    def __init__(self, sender: Sender, key: str, rate: float) -> None:
        self.sender, self.key = sender, key
        self.rate = rate
        self.interval = 1 / rate
        self._fetch_s = 0.0  # how long the last fetch took (pool wait + round trip)
        self._slots: collections.deque[float] = collections.deque()  # loop times
        self._lock = asyncio.Lock()
        self._refused_until = 0.0

    def _count(self, max_wait: float) -> int:
        """Slots per fetch: a block must outlast the next fetch, or the budget goes unused
        while the fetch waits for a pool connection under load (measured: 54 % of a 100/s
        limit at 10x overload with 50 ms blocks). At most ``max_wait`` worth."""
        cover = max(self.BLOCK_S, 2 * self._fetch_s)
        return max(1, min(int(self.rate * cover), int(self.rate * max(max_wait, self.BLOCK_S))))

    def next_free(self) -> float:
        """The loop time of the next slot this process knows of (a lower bound)."""
        self._drop_passed()
        return self._slots[0] if self._slots else self._refused_until

    def give_back(self, slot: float) -> None:
        """An unused slot, for the next send."""
        self._slots.appendleft(slot)

    def _drop_passed(self) -> None:
        now = asyncio.get_running_loop().time()
        while self._slots and self._slots[0] < now - self.interval:
            self._slots.popleft()

    async def acquire(self, deadline: float) -> float | None:
        """The loop time of this send's slot, or None when none comes before ``deadline``."""
        loop = asyncio.get_running_loop()
        settings, metrics = self.sender.settings, self.sender.metrics
        while True:
            self._drop_passed()
            if self._slots:
                return self._slots.popleft()
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0.0)):
                    await self._lock.acquire()
            except TimeoutError:
                return None
            try:
                if self._slots:
                    continue
                count = self._count(settings.rate_max_wait_s)
                began = loop.time()
                async with self.sender.pool.connection(timeout=settings.db_pool_timeout_s) as conn:
                    take = await Repo(conn).take_slots(
                        [self.key], [self.interval], settings.rate_max_wait_s, count=count
                    )
                self._fetch_s = loop.time() - began
                start = loop.time() + take.delay
                if take.taken:
                    self._slots.extend(start + n * self.interval for n in range(count))
                    continue
                metrics.outbox_throttled.inc()
                wait = take.delay - settings.rate_max_wait_s
                self._refused_until = loop.time() + take.delay
                if loop.time() + wait > deadline:
                    return None
                await asyncio.sleep(max(wait, 0.001))
            finally:
                self._lock.release()
