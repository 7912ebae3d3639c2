"""One delivery, start to answer: parse, claim the update_id, run handlers, write outbox, commit.

The update's transaction touches only PostgreSQL: everything an update changes, its
``update_id`` and an outbox row for every Bot API call its handlers ask for are committed
together, and the webhook answers 2xx only after that commit. The sender
(:mod:`bot.sender`) makes the calls afterwards. Files a handler needs are fetched before the
transaction opens. A transient failure (:func:`bot.failures.is_transient`) rolls everything
back and answers 503 with ``Retry-After`` so Telegram redelivers; a payload that can never
succeed, or a bug in a handler, is dead-lettered and answered 200 once the dead letter is
stored (503 if even that fails: never a 2xx for something that was not stored).
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
from telegram import Update

from bot.botapi import RetryAfterError
from bot.failures import is_transient
from bot.handlers import FAST_HANDLERS
from bot.logs import chat_id_var, update_id_var
from bot.photos import fetch_photo, largest_photo_id
from bot.repo import OutboxRow, Repo, TxTimeouts
from bot.unit import UpdateUnit, current_unit
from bot_contract.metrics import Outcome
from bot_contract.updates import UpdateType, update_kind

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from psycopg_pool import AsyncConnectionPool

    from bot.app import PTBApplication
    from bot.botapi import BotApi
    from bot.fastpath import FastHandler
    from bot.metrics import Metrics
    from bot.settings import Settings
    from bot.unit import PhotoFetch, Reply

log = logging.getLogger(__name__)

#: Methods Telegram does not execute from a webhook response body (TELEGRAM.md §1.6).
_NOT_IN_BODY = frozenset({"setWebhook", "deleteWebhook", "close", "logOut"})


def body_eligible(method: str) -> bool:
    """Whether Telegram executes ``method`` when it is found in a 2xx webhook answer."""
    return not method.startswith("get") and method not in _NOT_IN_BODY


def rate_keys(chat_id: int | None, chat_type: str | None) -> tuple[str, ...]:
    """The limiter keys of a message to ``chat_id``: the chat, its group, the fleet (sorted)."""
    if chat_id is None:
        return ()
    group = chat_type in ("group", "supergroup") if chat_type else chat_id < 0
    return (f"chat:{chat_id}", "global", f"group:{chat_id}") if group else (
        f"chat:{chat_id}", "global")  # fmt: skip


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
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.application = application
        self.api = api
        self.metrics = metrics
        self.on_commit = on_commit  # wakes this process's sender
        self._test_delay = settings.test_handler_delay_ms / 1000
        self._via_webhook = settings.reply_via == "webhook"
        self._timeouts = TxTimeouts(settings.db_lock_timeout_ms, settings.db_idle_in_tx_timeout_ms)
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
                photo = await self._prefetch(data, kind, update_id)
                if self._test_delay:  # a slow handler, simulated outside the transaction
                    await asyncio.sleep(self._test_delay)
                return await self._process(routed, photo)
        except RetryAfterError as exc:  # getFile refused with a 429
            return self._retry(label, exc.retry_after, exc)
        except Exception as exc:
            if is_transient(exc):
                return self._retry(label, self.settings.retry_after_s, exc)
            log.exception("handler failed; dead-lettering the update")
            return await self._dead_letter("handler_error", body, update_id, label, repr(exc))

    def _ptb_route(self, update: Update, label: str, kind: UpdateType | None) -> Routed:
        """Route through PTB's handlers (``process_update``; errors land on the unit)."""
        chat, user = update.effective_chat, update.effective_user
        process = self.application.process_update
        return Routed(update.update_id, label, kind, chat.id if chat else None,
                      chat.type if chat else None, user.id if user else None,
                      lambda _unit: process(update))  # fmt: skip

    async def _prefetch(
        self, data: dict[str, Any], kind: UpdateType | None, update_id: int
    ) -> PhotoFetch | None:
        """Fetch the file a photo handler needs, before any transaction is open."""
        file_id = largest_photo_id(data) if kind is UpdateType.PHOTO else None
        if file_id is None:
            return None
        async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
            if await Repo(conn).is_processed(update_id):
                return None  # a redelivery: the claim will see the duplicate
        return await fetch_photo(self.api, file_id, self.settings.max_photo_bytes)

    # --- the transaction -----------------------------------------------------------------------
    async def _process(self, routed: Routed, photo: PhotoFetch | None) -> Answer:
        update_id, label, chat_id = routed.update_id, routed.label, routed.chat_id
        async with self.pool.connection(timeout=self.settings.db_pool_timeout_s) as conn:
            repo = Repo(conn, self._timeouts)
            claim = await repo.begin_and_claim(update_id, label, chat_id, routed.user_id)
            try:
                if not claim.claimed:
                    if not self._via_webhook:
                        await repo.rollback()
                        return Answer(200, Outcome.DUPLICATE, label)
                    # Telegram redelivers only what it did not receive, so it never executed
                    # the first answer's body: answer the same stored body again.
                    stored = await repo.rollback_with_webhook_body(update_id)
                    return Answer(200, Outcome.DUPLICATE, label, body=stored)
                unit = UpdateUnit(update_id, repo, conversation=claim.conversation, photo=photo)
                token = current_unit.set(unit)
                try:
                    await routed.run(unit)
                finally:
                    current_unit.reset(token)
                if unit.error is not None:
                    raise unit.error
                rows, body = self._outbox(routed, unit.replies)
                await repo.commit(update_id, rows)
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    await repo.rollback()
                raise
        if self.on_commit is not None and any(r.webhook_body is None for r in rows):
            self.on_commit()
        outcome = Outcome.HANDLED if unit.handled else Outcome.UNHANDLED
        return Answer(200, outcome, label, body=body)

    def _outbox(
        self, routed: Routed, replies: Sequence[Reply]
    ) -> tuple[list[OutboxRow], bytes | None]:
        """The outbox rows of an update's replies, and the webhook answer's body if any."""
        rows: list[OutboxRow] = []
        body = None
        for seq, reply in enumerate(replies):
            params = orjson.dumps(reply.params)
            chat_type = routed.chat_type if reply.chat_id == routed.chat_id else None
            keys = rate_keys(reply.chat_id, chat_type)
            if body is None and self._via_webhook and body_eligible(reply.method):
                # Executed by Telegram when it receives our 2xx: recorded, not sent.
                body = orjson.dumps({"method": reply.method, **reply.params})
                rows.append(OutboxRow(seq, reply.method, params, reply.chat_id, keys, body))
                continue
            order_key = reply.chat_id if reply.chat_id is not None else routed.chat_id
            rows.append(OutboxRow(seq, reply.method, params, order_key, keys))
        return rows, body

    # --- answers -------------------------------------------------------------------------------
    def _retry(self, label: str, seconds: float, exc: BaseException) -> Answer:
        state = getattr(exc, "sqlstate", None)
        log.warning(
            "transient failure, asking for a redelivery: %s%s",
            type(exc).__name__,
            f" (SQLSTATE {state})" if state else "",
        )
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
        except Exception as exc:
            # Not stored: never a 2xx for something that was not stored, whatever the cause.
            log.exception("could not store a dead letter (%s)", reason)
            return self._retry(label, self.settings.retry_after_s, exc)
        self.metrics.dead_letters.labels(reason).inc()
        log.warning("dead-lettered a delivery: %s", reason)
        return Answer(200, Outcome.DEAD_LETTER, label)
