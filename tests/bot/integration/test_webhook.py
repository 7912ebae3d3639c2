"""The webhook route: auth, size limit, bad input, unknown updates, shedding, timeouts."""

from __future__ import annotations

import asyncio

import pytest

from bot_contract import updates as u
from tests.bot.conftest import SECRET, scalar
from tests.bot.factories import ALICE, next_id, text


async def test_wrong_or_missing_secret_is_401_and_counted(bot_factory, session, db):
    bot = await bot_factory()
    assert (await bot.post(session, text("hi"), secret="wrong-secret-000000")).status == 401  # noqa: S106
    assert (await bot.post(session, text("hi"), secret=None)).status == 401
    assert bot.state.metrics.auth_rejected._value.get() == 2
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == 0


async def test_rotation_accepts_every_listed_secret(bot_factory, session, db):
    bot = await bot_factory(webhook_secret=f"new-secret-abcdefghij,{SECRET}")
    assert (await bot.post(session, text("a"), secret="new-secret-abcdefghij")).status == 200  # noqa: S106
    assert (await bot.post(session, text("b"), secret=SECRET)).status == 200
    assert (await bot.post(session, text("c"), secret="new-secret-abcdefghiX")).status == 401  # noqa: S106
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == 2


async def test_oversize_body_is_413(bot_factory, session, db):
    bot = await bot_factory(max_body_bytes=4096)
    big = text("x" * 5000)
    assert (await bot.post(session, big)).status == 413
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == 0


async def test_garbage_json_is_200_and_dead_lettered(bot_factory, session, db):
    bot = await bot_factory()
    resp = await bot.post(session, b"{not json")
    assert resp.status == 200
    assert await scalar(db, "SELECT reason FROM dead_letters") == "invalid_json"
    assert await scalar(db, "SELECT body FROM dead_letters") == b"{not json"


async def test_json_that_is_no_update_is_200_and_dead_lettered(bot_factory, session, db):
    bot = await bot_factory()
    for body in (b"[1, 2]", b'{"hello": "world"}', b'{"update_id": "7"}'):
        assert (await bot.post(session, body)).status == 200
    bad_message = {"update_id": next_id(), "message": {"message_id": "x"}}
    assert (await bot.post(session, bad_message)).status == 200
    reasons = await scalar(db, "SELECT array_agg(reason ORDER BY id) FROM dead_letters")
    assert reasons == ["not_an_update"] * 4
    assert bot.state.metrics.dead_letters.labels("not_an_update")._value.get() == 4


async def test_unknown_update_type_is_acknowledged_and_counted(bot_factory, stub, session, db):
    bot = await bot_factory()
    update_id = next_id()
    unknown = {"update_id": update_id, "future_update_kind": {"id": 1}}
    assert (await bot.post(session, unknown)).status == 200
    sticker = text("ignored")
    sticker["message"].pop("text")
    sticker["message"]["sticker"] = {
        "file_id": "s",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    assert (await bot.post(session, sticker)).status == 200
    unhandled = bot.state.metrics.updates.labels("other", "unhandled")._value.get()
    assert unhandled == 2
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == 2
    assert stub.sent() == []


async def test_in_flight_cap_sheds_with_503_and_retry_after(bot_factory, session, db):
    bot = await bot_factory(max_in_flight=1, test_handler_delay_ms=1500, retry_after_s=3)
    first = asyncio.create_task(bot.post(session, text("first")))
    for _ in range(200):
        if bot.state.in_flight:
            break
        await asyncio.sleep(0.01)
    shed = await bot.post(session, text("second"))
    assert shed.status == 503
    assert shed.headers["Retry-After"] == "3"
    assert (await first).status == 200
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == 1


async def test_handler_timeout_is_503_and_commits_nothing(bot_factory, stub, session, db):
    bot = await bot_factory(handler_timeout_s=0.2, test_handler_delay_ms=2000)
    resp = await bot.post(session, text("slow"))
    assert resp.status == 503
    assert int(resp.headers["Retry-After"]) >= 1
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == 0
    assert stub.sent() == []


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "ptb-path"])
async def test_handler_bug_is_dead_lettered_not_retried(bot_factory, stub, session, db, fast_path):
    from telegram.ext import MessageHandler, filters

    from bot.fastpath import FastHandler, TextMessage
    from bot_contract.updates import UpdateType

    async def broken(*args):
        raise ValueError("a bug")

    bot = await bot_factory(fast_path=fast_path)
    pipeline = bot.state.pipeline
    if fast_path:
        pipeline.fast = {UpdateType.TEXT: FastHandler("message", TextMessage, broken)}
    else:
        pipeline.application.add_handler(MessageHandler(filters.TEXT, broken), group=-1)
    update = text("boom")
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT reason FROM dead_letters") == "handler_error"
    # The update is claimed: a redelivery is a duplicate, not a second failure.
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT count(*) FROM dead_letters") == 1
    assert stub.sent() == []


async def test_health_and_readiness(bot_factory, session):
    bot = await bot_factory()
    async with session.get(bot.url + "/healthz") as resp:
        assert resp.status == 200
    async with session.get(bot.url + "/readyz") as resp:
        assert resp.status == 200
    assert await bot.state.drain(0, 1) is True
    async with session.get(bot.url + "/readyz") as resp:
        assert resp.status == 503
    assert (await bot.post(session, text("late"))).status == 503


async def test_wrong_method_is_not_a_server_error(bot_factory, session):
    bot = await bot_factory()
    async with session.get(bot.url + "/telegram/webhook") as resp:
        assert resp.status == 405


async def test_private_chat_user_json_in_logs_has_ids(bot_factory, session, caplog):
    bot = await bot_factory()
    update = u.text_update(
        next_id(), message_id=3, user=ALICE, chat=u.Chat.private(ALICE), date=1, text="/unknowncmd"
    )
    assert (await bot.post(session, update)).status == 200


async def test_values_postgresql_cannot_store_are_dead_lettered_not_500(bot_factory, session, db):
    bot = await bot_factory()
    huge = text("hi", update_id=2**70)
    assert (await bot.post(session, huge)).status == 200
    nul = text("/note has a \u0000 byte")
    assert (await bot.post(session, nul)).status == 200
    reasons = await scalar(db, "SELECT array_agg(reason ORDER BY id) FROM dead_letters")
    assert reasons == ["not_an_update", "handler_error"]
    assert await scalar(db, "SELECT count(*) FROM notes") == 0
