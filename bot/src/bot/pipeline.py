"""One delivery, start to answer: parse, claim the update_id, run handlers, send, commit.

Everything an update changes, its ``update_id`` and the record of what was sent for it are
committed in one transaction; the webhook answers 2xx only after that commit. A transient
failure rolls everything back and answers 503 with ``Retry-After`` so Telegram redelivers.
A payload that can never succeed is dead-lettered and answered 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg_pool import PoolClosed, PoolTimeout
from telegram import Update
from telegram.error import NetworkError, RetryAfter

from bot.botapi import BotApiError, RetryAfterError, TransientApiError
from bot.handlers import FAST_HANDLERS
from bot.logs import chat_id_var, update_id_var
from bot.repo import Repo, SentRecord
from bot.unit import UpdateUnit, current_unit
from bot_contract.metrics import Outcome
from bot_contract.updates import UpdateType, update_kind

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from psycopg_pool import AsyncConnectionPool

    from bot.app import PTBApplication
    from bot.botapi import BotApi
    from bot.fastpath import FastHandler
    from bot.metrics import Metrics
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: Exceptions that mean "try again later": the database, the pool, the Bot API, a timeout.
TRANSIENT = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
    PoolClosed,
    TransientApiError,
    NetworkError,  # PTB's transport (getFile, downloads), TimedOut included
    RetryAfter,  # a 429 on a call made through PTB
    TimeoutError,
)
#: Update kinds that get a message reply in their chat (so a rate slot is reserved up front).
_REPLYING = frozenset({UpdateType.TEXT, UpdateType.COMMAND, UpdateType.PHOTO})
#: Methods Telegram does not execute from a webhook response body (TELEGRAM.md §1.6).
_NOT_IN_BODY = frozenset({"setWebhook", "deleteWebhook", "close", "logOut"})


def body_eligible(method: str) -> bool:
    """Whether Telegram executes ``method`` when it is found in a 2xx webhook answer."""
    return not method.startswith("get") and method not in _NOT_IN_BODY


@dataclass(frozen=True, slots=True)
class Routed:
    """An update ready to process: whom it concerns, and how to run its handlers."""

    update_id: int
    label: str
    kind: UpdateType | None
    chat_id: int | None
    chat_type: str | None
    user_id: int | None
    run: Callable[[UpdateUnit], Awaitable[None]]


@dataclass(frozen=True)
class Answer:
    """How the webhook answers one delivery."""

    status: int
    outcome: Outcome
    update_type: str = "other"
    retry_after: int | None = None
    body: bytes | None = None  # a Bot API method for Telegram to execute (BOT_REPLY_VIA=webhook)


class Throttled(Exception):
    """The chat's next send slot is further away than we are willing to wait."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"next send slot in {delay:.1f}s")
        self.delay = delay


class Pipeline:
    """Processes deliveries for one process (shared by all its requests)."""

    def __init__(
        self,
        settings: Settings,
        pool: AsyncConnectionPool[Any],
        application: PTBApplication,
        api: BotApi,
        metrics: Metrics,
        fast: Mapping[UpdateType, FastHandler[Any]] = FAST_HANDLERS,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.application = application
        self.api = api
        self.metrics = metrics
        self._test_delay = settings.test_handler_delay_ms / 1000
        self._via_webhook = settings.reply_via == "webhook"
        self.fast: Mapping[UpdateType, FastHandler[Any]] = fast if settings.fast_path else {}

    # --- entry point ---------------------------------------------------------------------------
    async def handle(self, body: bytes) -> Answer:
        """Process one webhook body and say how to answer it (never raises)."""
        started = time.perf_counter()
        answer = await self._handle(body)
        self.metrics.updates.labels(answer.update_type, answer.outcome.value).inc()
        self.metrics.update_duration.labels(answer.update_type).observe(
            time.perf_counter() - started
        )
        if answer.outcome is Outcome.DUPLICATE:
            self.metrics.duplicates.labels(answer.update_type).inc()
        return answer

    async def _handle(self, body: bytes) -> Answer:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return await self._dead_letter("invalid_json", body, None, "other")
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return await self._dead_letter("not_an_update", body, None, "other")
        if not 0 <= data["update_id"] < 2**63:  # a PostgreSQL bigint
            return await self._dead_letter("not_an_update", body, None, "other")
        update_id: int = data["update_id"]
        kind = update_kind(data)
        label = kind.value if kind else "other"
        fast = self.fast.get(kind) if kind is not None else None
        view = fast.parse(data) if fast is not None else None
        if fast is not None and view is not None:
            handle = fast.handle
            routed = Routed(update_id, label, kind, view.chat_id, view.chat_type, view.user_id,
                            lambda unit: handle(view, unit))  # fmt: skip
        else:
            try:
                update = Update.de_json(data, self.application.bot)
            except Exception as exc:  # PTB raises many types for malformed objects
                return await self._dead_letter("not_an_update", body, update_id, label, repr(exc))
            routed = self._ptb_route(update, label, kind)
        update_id_var.set(update_id)
        chat_id_var.set(routed.chat_id)
        try:
            async with asyncio.timeout(self.settings.handler_timeout_s):
                return await self._process(routed)
        except RetryAfterError as exc:
            await self._penalize(routed.chat_id, exc.retry_after)
            return self._retry(label, exc.retry_after, exc)
        except Throttled as exc:
            return self._retry(label, exc.delay, exc)
        except TRANSIENT as exc:
            return self._retry(label, self.settings.retry_after_s, exc)
        except Exception as exc:
            log.exception("handler failed; dead-lettering the update")
            return await self._dead_letter("handler_error", body, update_id, label, repr(exc))

    def _ptb_route(self, update: Update, label: str, kind: UpdateType | None) -> Routed:
        """Route through PTB's handlers (``process_update``; errors land on the unit)."""
        chat, user = update.effective_chat, update.effective_user
        process = self.application.process_update
        return Routed(update.update_id, label, kind, chat.id if chat else None,
                      chat.type if chat else None, user.id if user else None,
                      lambda _unit: process(update))  # fmt: skip

    # --- the transaction -----------------------------------------------------------------------
    async def _process(self, routed: Routed) -> Answer:
        update_id, label, chat_id = routed.update_id, routed.label, routed.chat_id
        replying = routed.kind in _REPLYING and chat_id is not None
        async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
            repo = Repo(conn)
            if replying and self.settings.rate_global_per_s > 0:
                # The fleet-wide budget is one hot row: reserve it in its own statement, so
                # no transaction keeps it locked.
                await self._wait_for_slot(repo, ["global"], [1 / self.settings.rate_global_per_s])
            keys, intervals = (
                self._keys(chat_id, routed.chat_type or "") if chat_id is not None and replying
                else ([], [])
            )  # fmt: skip
            claim = await repo.begin_and_claim(
                update_id, label, chat_id, routed.user_id, keys, intervals
            )
            try:
                if not claim.claimed:
                    if not self._via_webhook:
                        await repo.rollback()
                        return Answer(200, Outcome.DUPLICATE, label)
                    # Telegram redelivers only what it did not receive, so it never executed
                    # the first answer's body: answer the same stored body again.
                    stored = await repo.rollback_with_webhook_body(update_id)
                    return Answer(200, Outcome.DUPLICATE, label, body=stored)
                await self._sleep_until(claim.delay)
                unit = UpdateUnit(update_id, repo, conversation=claim.conversation)
                token = current_unit.set(unit)
                try:
                    if self._test_delay:
                        await asyncio.sleep(self._test_delay)
                    await routed.run(unit)
                finally:
                    current_unit.reset(token)
                if unit.error is not None:
                    raise unit.error
                sent = []
                body = None
                reserved = chat_id if replying else None
                for seq, reply in enumerate(unit.replies):
                    if reply.chat_id is not None and reply.chat_id != reserved:
                        kind_ = "group" if reply.chat_id < 0 else "private"
                        await self._wait_for_slot(repo, *self._keys(reply.chat_id, kind_))
                    reserved = None  # one reservation covers one message
                    if body is None and self._via_webhook and body_eligible(reply.method):
                        # Executed by Telegram when it receives our 2xx: recorded, not sent.
                        body = orjson.dumps({"method": reply.method, **reply.params})
                        sent.append(SentRecord(seq, reply.method, reply.chat_id, None, None, body))
                        continue
                    sent.append(await self._send(seq, reply.method, reply.params, reply.chat_id))
                await repo.commit(update_id, sent)
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    await repo.rollback()
                raise
        outcome = Outcome.HANDLED if unit.handled else Outcome.UNHANDLED
        return Answer(200, outcome, label, body=body)

    async def _send(
        self, seq: int, method: str, params: dict[str, Any], chat_id: int | None
    ) -> SentRecord:
        try:
            result = await self.api.call(method, params)
        except BotApiError as exc:
            # Refused for good (blocked, chat gone, bad request): keep the update's effects and
            # record the refusal; retrying would fail the same way.
            log.warning(
                "Bot API refused %s: %s", method, exc.description, extra={"status": exc.status}
            )
            return SentRecord(seq, method, chat_id, None, f"{exc.status} {exc.description}")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return SentRecord(seq, method, chat_id, message_id)

    # --- rate limits ---------------------------------------------------------------------------
    def _keys(self, chat_id: int, chat_type: str) -> tuple[list[str], list[float]]:
        """The per-chat and per-group keys (the global one is reserved on its own)."""
        s = self.settings
        keys: list[str] = []
        intervals: list[float] = []
        if s.rate_chat_interval_s > 0:
            keys.append(f"chat:{chat_id}")
            intervals.append(s.rate_chat_interval_s)
        if chat_type in ("group", "supergroup") and s.rate_group_interval_s > 0:
            keys.append(f"group:{chat_id}")
            intervals.append(s.rate_group_interval_s)
        return keys, intervals

    async def _wait_for_slot(self, repo: Repo, keys: list[str], intervals: list[float]) -> None:
        if keys:
            await self._sleep_until((await repo.reserve_slot(keys, intervals)).delay)

    async def _sleep_until(self, delay: float) -> None:
        if delay > self.settings.rate_max_wait_s:
            raise Throttled(delay)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _penalize(self, chat_id: int | None, retry_after: float) -> None:
        """Tell every replica about a 429: push the chat's (or the global) slot out."""
        try:
            async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
                await Repo(conn).penalize(f"chat:{chat_id}" if chat_id else "global", retry_after)
        except TRANSIENT:
            log.warning("could not record a 429 penalty")

    # --- answers -------------------------------------------------------------------------------
    def _retry(self, label: str, seconds: float, exc: BaseException) -> Answer:
        log.warning("transient failure, asking for a redelivery: %s", type(exc).__name__)
        retry = max(1, min(3600, math.ceil(seconds)))
        return Answer(503, Outcome.RETRY, label, retry)

    async def _dead_letter(
        self, reason: str, body: bytes, update_id: int | None, label: str, detail: str | None = None
    ) -> Answer:
        try:
            async with (
                self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn,
                conn.transaction(),
            ):
                repo = Repo(conn)
                if update_id is not None and not await repo.claim_update(update_id, label, None):
                    return Answer(200, Outcome.DUPLICATE, label)
                await repo.dead_letter(reason, body, update_id, detail)
        except TRANSIENT as exc:
            return self._retry(label, self.settings.retry_after_s, exc)
        except psycopg.Error:
            # Even the dead letter was refused (e.g. a value PostgreSQL cannot store): a client
            # error must still not become a 5xx, so log it and acknowledge.
            log.exception("could not store a dead letter (%s)", reason)
        self.metrics.dead_letters.labels(reason).inc()
        log.warning("dead-lettered a delivery: %s", reason)
        return Answer(200, Outcome.DEAD_LETTER, label)
