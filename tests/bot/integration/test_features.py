"""The features: /start, the notes conversation across two instances, buttons, photos, edits,
blocking, and what happens when the Bot API says 429 or refuses a message."""

from __future__ import annotations

from bot_contract import updates as u
from tests.bot.conftest import scalar
from tests.bot.factories import ALICE, BOB, DATE, callback, next_id, text


async def test_start_registers_the_user_and_replies_to_the_message(bot_factory, stub, session, db):
    bot = await bot_factory()
    update = text("/start")
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT first_name FROM users WHERE user_id = %s", ALICE.id) == "Alice"
    [call] = stub.sent()
    assert call.params["chat_id"] == ALICE.id
    assert call.params["reply_parameters"] == {"message_id": update["message"]["message_id"]}
    assert call.params["text"].startswith("Welcome, Alice")
    await bot.post(session, text("/start"))
    assert stub.sent()[-1].params["text"].startswith("Welcome back")
    assert (
        await scalar(db, "SELECT count(*) FROM sent_replies WHERE sent_message_id IS NOT NULL") == 2
    )


async def test_conversation_steps_alternate_between_two_instances(bot_factory, stub, session, db):
    one, two = await bot_factory(), await bot_factory()
    assert (await one.post(session, text("/start"))).status == 200
    assert (await two.post(session, text("/note"))).status == 200
    assert "Send me the note" in stub.sent()[-1].params["text"]
    assert await scalar(db, "SELECT state FROM conversations") == "awaiting_note"
    assert (await one.post(session, text("remember the milk"))).status == 200
    assert stub.sent()[-1].params["text"].startswith("Saved note #")
    assert await scalar(db, "SELECT count(*) FROM conversations") == 0
    # A plain text after the conversation ended is not a note.
    assert (await two.post(session, text("just chatting"))).status == 200
    assert await scalar(db, "SELECT array_agg(text) FROM notes") == ["remember the milk"]
    assert (await two.post(session, text("/notes"))).status == 200
    listing = stub.sent()[-1].params
    [[button]] = listing["reply_markup"]["inline_keyboard"]
    assert button["callback_data"].startswith("del:")
    press = callback(button["callback_data"])
    assert (await one.post(session, press)).status == 200
    assert (await stub.check_replies([], [press["callback_query"]["id"]])).complete
    [answer] = stub.sent("answerCallbackQuery")
    assert answer.params["text"].startswith("Deleted note")
    assert await scalar(db, "SELECT count(*) FROM notes") == 0
    assert (await two.post(session, callback(button["callback_data"]))).status == 200
    assert stub.sent("answerCallbackQuery")[-1].params["text"] == "That note is already gone."
    assert await scalar(db, "SELECT messages FROM users") == 2


async def test_cancel_and_unknown_buttons_and_commands(bot_factory, stub, session, db):
    bot = await bot_factory()
    await bot.post(session, text("/note"))
    await bot.post(session, text("/cancel"))
    await bot.post(session, text("not a note"))
    assert await scalar(db, "SELECT count(*) FROM notes") == 0
    await bot.post(session, text("/notes"))
    assert stub.sent()[-1].params["text"].startswith("No notes yet")
    await bot.post(session, text("/frobnicate"))
    assert stub.sent()[-1].params["text"].startswith("Unknown command")
    await bot.post(session, text("/help"))
    await bot.post(session, callback("bogus"))
    assert stub.sent("answerCallbackQuery")[-1].params["text"] == "Unknown button."


async def test_photo_goes_through_getfile_download_and_processing(bot_factory, stub, session, db):
    bot = await bot_factory()
    uid = next_id()
    chat = u.Chat.private(ALICE)
    update = u.photo_update(uid, message_id=9, user=ALICE, chat=chat, date=DATE, file_id="pic")
    assert (await bot.post(session, update)).status == 200
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


async def test_429_is_honoured_fleet_wide_then_redelivery_succeeds(bot_factory, stub, session, db):
    # The emulator allows one message per 2 s in a chat, no burst; our own spacing is off.
    stub.set_flood(per_chat_rate=0.5, per_chat_burst=1)
    bot = await bot_factory(rate_chat_interval_s=0.01, rate_max_wait_s=10)
    assert (await bot.post(session, text("/note first"))).status == 200
    second = text("/note under flood control")
    refused = await bot.post(session, second)
    assert refused.status == 503
    retry_after = int(refused.headers["Retry-After"])
    assert retry_after >= 1
    assert bot.state.metrics.api_rate_limited.labels("sendMessage")._value.get() == 1
    assert await scalar(db, "SELECT count(*) FROM notes") == 1  # rolled back: nothing half-done
    delay = await scalar(
        db,
        "SELECT last_at - extract(epoch FROM now()) FROM rate_slots WHERE key = %s",
        f"chat:{ALICE.id}",
    )
    assert delay > 0.5  # every replica now waits for the chat's slot
    assert (await bot.post(session, second)).status == 200  # waits for the slot, then sends
    assert await scalar(db, "SELECT count(*) FROM notes") == 2
    assert stub.state.stats()["rate_limited"]["total"] == 1  # the emulator refused once


async def test_refused_reply_keeps_the_effect_and_records_the_refusal(
    bot_factory, stub, session, db
):
    bot = await bot_factory()
    ghost = u.User(2**53 + 7, "Ghost")  # past 52 bits: the Bot API answers "chat not found"
    assert (await bot.post(session, text("/note still saved", user=ghost))).status == 200
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert "chat not found" in await scalar(db, "SELECT error FROM sent_replies")


async def test_bot_api_outage_is_503_and_nothing_commits(bot_factory, stub, session, db):
    bot = await bot_factory()
    stub.set_faults("sendMessage", error_ratio=1.0, error_code=502)
    update = text("/note during outage")
    assert (await bot.post(session, update)).status == 503
    assert await scalar(db, "SELECT count(*) FROM notes") == 0
    stub.clear_faults()
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT count(*) FROM notes") == 1


async def test_group_messages_use_the_group_budget(bot_factory, stub, session, db):
    from tests.bot.factories import GROUP

    bot = await bot_factory(rate_chat_interval_s=0, rate_group_interval_s=3, rate_max_wait_s=10)
    await bot.post(session, text("/help", chat=GROUP))
    await bot.post(session, text("/help", chat=GROUP))
    first, second = stub.sent()
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
