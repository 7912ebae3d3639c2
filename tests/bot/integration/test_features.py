"""The features: /start, the notes conversation across two instances, buttons, photos, edits,
blocking, and what happens when the Bot API says 429 or refuses a message."""

from __future__ import annotations

import asyncio

from bot_contract import updates as u
from tests.bot.conftest import outbox_settled, scalar
from tests.bot.factories import ALICE, BOB, DATE, callback, next_id, text


async def test_start_registers_the_user_and_replies_to_the_message(bot_factory, stub, session, db):
    bot = await bot_factory()
    update = text("/start")
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT first_name FROM users WHERE user_id = %s", ALICE.id) == "Alice"
    [call] = await stub.wait_sent(1)
    assert call.params["chat_id"] == ALICE.id
    assert call.params["reply_parameters"] == {"message_id": update["message"]["message_id"]}
    assert call.params["text"].startswith("Welcome, Alice")
    await bot.post(session, text("/start"))
    assert (await stub.wait_sent(2))[-1].params["text"].startswith("Welcome back")
    await outbox_settled(db)
    sent = "SELECT count(*) FROM outbox WHERE state = 'sent' AND message_id IS NOT NULL"
    assert await scalar(db, sent) == 2


async def test_conversation_steps_alternate_between_two_instances(bot_factory, stub, session, db):
    one, two = await bot_factory(), await bot_factory()
    assert (await one.post(session, text("/start"))).status == 200
    assert (await two.post(session, text("/note"))).status == 200
    assert "Send me the note" in (await stub.wait_sent(2))[-1].params["text"]
    assert await scalar(db, "SELECT state FROM conversations") == "awaiting_note"
    assert (await one.post(session, text("remember the milk"))).status == 200
    assert (await stub.wait_sent(3))[-1].params["text"].startswith("Saved note #")
    assert await scalar(db, "SELECT count(*) FROM conversations") == 0
    # A plain text after the conversation ended is not a note.
    assert (await two.post(session, text("just chatting"))).status == 200
    assert await scalar(db, "SELECT array_agg(text) FROM notes") == ["remember the milk"]
    assert (await two.post(session, text("/notes"))).status == 200
    listing = (await stub.wait_sent(5))[-1].params
    [[button]] = listing["reply_markup"]["inline_keyboard"]
    assert button["callback_data"].startswith("del:")
    press = callback(button["callback_data"])
    assert (await one.post(session, press)).status == 200
    [answer] = await stub.wait_sent(1, "answerCallbackQuery")
    assert (await stub.check_replies([], [press["callback_query"]["id"]])).complete
    assert answer.params["text"].startswith("Deleted note")
    assert await scalar(db, "SELECT count(*) FROM notes") == 0
    assert (await two.post(session, callback(button["callback_data"]))).status == 200
    again = await stub.wait_sent(2, "answerCallbackQuery")
    assert again[-1].params["text"] == "That note is already gone."
    assert await scalar(db, "SELECT messages FROM users") == 2


async def test_cancel_and_unknown_buttons_and_commands(bot_factory, stub, session, db):
    bot = await bot_factory()
    await bot.post(session, text("/note"))
    await bot.post(session, text("/cancel"))
    await bot.post(session, text("not a note"))
    assert await scalar(db, "SELECT count(*) FROM notes") == 0
    await bot.post(session, text("/notes"))
    assert (await stub.wait_sent(4))[-1].params["text"].startswith("No notes yet")
    await bot.post(session, text("/frobnicate"))
    assert (await stub.wait_sent(5))[-1].params["text"].startswith("Unknown command")
    # A command addressed to another bot (in a group) is not ours to answer.
    await bot.post(session, text("/start@SomeOtherBot"))
    await bot.post(session, text("/help"))
    assert (await stub.wait_sent(6))[-1].params["text"].startswith("/start: register")
    await outbox_settled(db)
    assert len(stub.sent()) == 6
    await bot.post(session, callback("bogus"))
    answers = await stub.wait_sent(1, "answerCallbackQuery")
    assert answers[-1].params["text"] == "Unknown button."


async def test_photo_goes_through_getfile_download_and_processing(bot_factory, stub, session, db):
    bot = await bot_factory()
    uid = next_id()
    chat = u.Chat.private(ALICE)
    update = u.photo_update(uid, message_id=9, user=ALICE, chat=chat, date=DATE, file_id="pic")
    assert (await bot.post(session, update)).status == 200
    await stub.wait_sent(1)
    calls = [c for c in stub.calls if c.method != "getMe"]
    assert [c.method for c in calls] == ["getFile", "file", "sendMessage"]
    assert calls[0].params["file_id"] == "pic-1280"  # the largest size
    assert await scalar(db, "SELECT format FROM photos WHERE update_id = %s", uid) == "jpeg"
    assert await scalar(db, "SELECT size_bytes FROM photos") > 1000
    assert "jpeg" in stub.sent()[-1].params["text"]
    assert (await stub.check_replies([(ALICE.id, 9)])).complete
    # The download is labelled "file", never with its path (one series per photo otherwise).
    async with session.get(bot.url + "/metrics") as resp:
        exposition = await resp.text()
    api_calls = [x for x in exposition.splitlines() if x.startswith("tgbot_bot_api_requests_total")]
    assert any('method="file"' in line for line in api_calls), api_calls
    assert not any(".jpg" in line or "photos/" in line for line in api_calls), api_calls


async def test_a_photo_over_the_size_cap_is_refused_before_downloading(
    bot_factory, stub, session, db
):
    bot = await bot_factory(max_photo_bytes=1000)
    chat = u.Chat.private(ALICE)
    update = u.photo_update(next_id(), message_id=12, user=ALICE, chat=chat, date=DATE, file_id="x")
    assert (await bot.post(session, update)).status == 200
    [reply] = await stub.wait_sent(1)
    assert "too large" in reply.params["text"]
    assert [c.method for c in stub.calls if c.method in ("getFile", "file")] == ["getFile"]
    assert await scalar(db, "SELECT count(*) FROM photos") == 0


async def test_edited_message_updates_the_note(bot_factory, stub, session, db):
    bot = await bot_factory()
    note = text("/note first draft")
    await bot.post(session, note)
    msg = note["message"]
    edit = u.edited_message_update(
        next_id(),
        message_id=msg["message_id"],
        user=ALICE,
        chat=u.Chat.private(ALICE),
        date=DATE,
        edit_date=DATE + 5,
        text="final text",
    )
    assert (await bot.post(session, edit)).status == 200
    assert await scalar(db, "SELECT text FROM notes") == "final text"
    assert bot.state.metrics.updates.labels("edited_message", "handled")._value.get() == 1


async def test_block_and_unblock_are_recorded(bot_factory, stub, session, db):
    bot = await bot_factory()
    await bot.post(session, text("/start", user=BOB))
    chat = u.Chat.private(BOB)
    await bot.post(
        session, u.my_chat_member_update(next_id(), user=BOB, chat=chat, date=DATE, blocked=True)
    )
    assert await scalar(db, "SELECT blocked FROM users WHERE user_id = %s", BOB.id) is True
    await bot.post(
        session, u.my_chat_member_update(next_id(), user=BOB, chat=chat, date=DATE, blocked=False)
    )
    assert await scalar(db, "SELECT blocked FROM users WHERE user_id = %s", BOB.id) is False


async def test_429_defers_the_chat_fleet_wide_and_the_reply_is_sent_later(
    bot_factory, stub, session, db
):
    # The emulator allows one message per 2 s in a chat, no burst; our own chat spacing 0.1 s.
    stub.set_flood(per_chat_rate=0.5, per_chat_burst=1)
    bot = await bot_factory(rate_chat_interval_s=0.1)
    assert (await bot.post(session, text("/note first"))).status == 200
    second = text("/note under flood control")
    assert (await bot.post(session, second)).status == 200  # acknowledged at once
    assert await scalar(db, "SELECT count(*) FROM notes") == 2  # both effects committed
    replies = await stub.wait_sent(3)  # the first, the refused second, its retry
    assert stub.state.stats()["rate_limited"]["total"] >= 1  # the emulator refused it once
    assert bot.state.metrics.api_rate_limited.labels("sendMessage")._value.get() >= 1
    assert await outbox_settled(db) == 2
    assert await scalar(db, "SELECT count(*) FROM outbox WHERE state = 'sent'") == 2
    # The retry waited for the chat's penalty (every replica reads it from rate_slots).
    assert replies[-1].at - replies[1].at >= 1.0


async def test_refused_reply_keeps_the_effect_and_records_the_refusal(
    bot_factory, stub, session, db
):
    bot = await bot_factory()
    ghost = u.User(2**53 + 7, "Ghost")  # past 52 bits: the Bot API answers "chat not found"
    assert (await bot.post(session, text("/note still saved", user=ghost))).status == 200
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    await outbox_settled(db)
    assert await scalar(db, "SELECT state FROM outbox") == "failed"
    assert "chat not found" in await scalar(db, "SELECT error FROM outbox")


async def test_bot_api_outage_acks_at_once_and_the_reply_follows(bot_factory, stub, session, db):
    bot = await bot_factory()
    stub.set_faults("sendMessage", error_ratio=1.0, error_code=502)
    update = text("/note during outage")
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    for _ in range(200):
        if await scalar(db, "SELECT attempts FROM outbox") >= 1 and stub.calls:
            break
        await asyncio.sleep(0.02)
    stub.clear_faults()
    reply = (await stub.wait_sent(2))[-1]
    assert reply.params["text"].startswith("Saved note #")
    assert await outbox_settled(db) == 1
    assert await scalar(db, "SELECT state FROM outbox") == "sent"


async def test_group_messages_use_the_group_budget(bot_factory, stub, session, db):
    from tests.bot.factories import GROUP

    bot = await bot_factory(rate_chat_interval_s=0, rate_group_interval_s=3)
    await bot.post(session, text("/help", chat=GROUP))
    await bot.post(session, text("/help", chat=GROUP))
    first, second = await stub.wait_sent(2)
    assert second.at - first.at >= 2.5


async def test_photo_download_outage_is_retried_not_dead_lettered(bot_factory, stub, session, db):
    bot = await bot_factory()
    stub.set_faults("getFile", error_ratio=1.0, error_code=503)
    chat = u.Chat.private(ALICE)
    update = u.photo_update(next_id(), message_id=11, user=ALICE, chat=chat, date=DATE, file_id="p")
    assert (await bot.post(session, update)).status == 503
    assert await scalar(db, "SELECT count(*) FROM dead_letters") == 0
    stub.clear_faults()
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT count(*) FROM photos") == 1
