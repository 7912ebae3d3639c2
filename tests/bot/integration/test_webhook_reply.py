"""BOT_REPLY_VIA=webhook: the first reply rides in the webhook answer, stored with the update."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from bot.pipeline import body_eligible
from bot_contract.webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.bot.conftest import SECRET, scalar
from tests.bot.factories import ALICE, callback, text

if TYPE_CHECKING:
    import aiohttp

    from tests.bot.conftest import LiveBot


async def deliver(
    bot: LiveBot, session: aiohttp.ClientSession, update: dict[str, Any]
) -> tuple[int, str | None, bytes]:
    async with session.post(
        bot.url + WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}
    ) as resp:
        return resp.status, resp.headers.get("Content-Type"), await resp.read()


async def test_text_reply_is_in_the_answer_body_and_recorded(bot_factory, stub, session, db):
    bot = await bot_factory(reply_via="webhook")
    update = text("hello")
    status, content_type, body = await deliver(bot, session, update)
    assert (status, content_type) == (200, "application/json")
    assert orjson.loads(body) == {
        "method": "sendMessage",
        "chat_id": ALICE.id,
        "text": "Got it (5 characters).",
        "reply_parameters": {"message_id": update["message"]["message_id"]},
    }
    assert stub.sent() == []  # nothing went through the Bot API
    stored = await scalar(db, "SELECT webhook_body FROM outbox WHERE update_id = %s",
                          update["update_id"])  # fmt: skip
    assert bytes(stored) == body


async def test_redelivery_gets_the_same_body_and_no_second_effect(bot_factory, stub, session, db):
    bot = await bot_factory(reply_via="webhook")
    update = text("/note buy milk")
    first = await deliver(bot, session, update)
    second = await deliver(bot, session, update)
    assert first[0] == second[0] == 200
    assert orjson.loads(first[2])["text"].startswith("Saved note #")
    assert second[2] == first[2]
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert await scalar(db, "SELECT count(*) FROM outbox WHERE state = 'answered'") == 1
    assert bot.state.metrics.duplicates.labels("command")._value.get() == 1
    assert stub.sent() == []


async def test_concurrent_deliveries_all_get_the_one_stored_body(bot_factory, stub, session, db):
    one, two = await bot_factory(reply_via="webhook"), await bot_factory(reply_via="webhook")
    update = text("/note concurrent")
    answers = await asyncio.gather(*(deliver(b, session, update) for b in (one, two, one, two)))
    assert {a[0] for a in answers} == {200}
    assert len({a[2] for a in answers}) == 1
    assert orjson.loads(answers[0][2])["method"] == "sendMessage"
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert stub.sent() == []


async def test_callback_query_is_answered_in_the_body(bot_factory, stub, session):
    bot = await bot_factory(reply_via="webhook")
    update = callback("del:999")
    status, _, body = await deliver(bot, session, update)
    assert status == 200
    assert orjson.loads(body) == {
        "method": "answerCallbackQuery",
        "callback_query_id": update["callback_query"]["id"],
        "text": "That note is already gone.",
    }
    assert stub.sent("answerCallbackQuery") == []


async def test_api_mode_answers_an_empty_body_and_sends_the_reply(bot_factory, stub, session):
    bot = await bot_factory()
    status, _, body = await deliver(bot, session, text("hello"))
    assert (status, body) == (200, b"")
    assert len(await stub.wait_sent(1)) == 1


@pytest.mark.parametrize(
    ("method", "eligible"),
    [("sendMessage", True), ("answerCallbackQuery", True), ("getFile", False),
     ("setWebhook", False), ("deleteWebhook", False), ("logOut", False), ("close", False)],
)  # fmt: skip
def test_methods_telegram_executes_from_a_body(method: str, eligible: bool) -> None:
    assert body_eligible(method) is eligible
