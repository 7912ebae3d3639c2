"""The fast path (plain text without PTB objects) has exactly the PTB path's effects."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from bot.fastpath import TextMessage
from tests.bot.conftest import outbox_settled, scalar
from tests.bot.factories import ALICE, BOB, GROUP, text

if TYPE_CHECKING:
    from bot_contract import updates as u


def script(user: u.User) -> list[dict]:
    """A conversation mixing commands (always PTB) and texts (fast or PTB)."""
    return [
        text("/note", user=user),
        text("remember the milk", user=user),
        text("just chatting", user=user),
        text("hello team", user=user, chat=GROUP),
        text("/notes", user=user),
    ]


async def effects(db: str, user: u.User, replies: list[str]) -> dict:
    return {
        "replies": [re.sub(r"#\d+", "#N", r) for r in replies],
        "messages": await scalar(db, "SELECT messages FROM users WHERE user_id = %s", user.id),
        "notes": await scalar(db, "SELECT array_agg(text) FROM notes WHERE user_id = %s", user.id),
        "open": await scalar(db, "SELECT count(*) FROM conversations WHERE user_id = %s", user.id),
        "recorded": await scalar(
            db, "SELECT count(*) FROM outbox WHERE chat_id = %s AND state = 'sent'", user.id
        ),
    }


async def test_fast_and_ptb_paths_have_the_same_effects(bot_factory, stub, session, db):
    fast, ptb = await bot_factory(fast_path=True), await bot_factory(fast_path=False)
    seen, through_ptb = {}, {}
    for bot, user in ((fast, ALICE), (ptb, BOB)):
        application = bot.state.pipeline.application
        process, through_ptb[bot is fast] = application.process_update, []

        async def counted(update, process=process, calls=through_ptb[bot is fast]):
            calls.append(update.update_id)
            await process(update)

        application.process_update = counted
        await bot.post(session, text("/start", user=user))
        await outbox_settled(db)
        before = len(stub.sent())
        for update in script(user):
            assert (await bot.post(session, update)).status == 200
        await outbox_settled(db)
        replies = sorted(c.params["text"] for c in stub.sent()[before:])
        seen[bot is fast] = await effects(db, user, replies)
    assert seen[True] == seen[False]
    assert (len(through_ptb[True]), len(through_ptb[False])) == (3, 6)  # texts skipped PTB
    assert seen[True]["notes"] == ["remember the milk"]
    assert seen[True]["messages"] == 3  # the three plain texts were counted, on either path


@pytest.mark.parametrize(
    ("message", "fits"),
    [
        (text("hi")["message"], True),
        ({**text("hi")["message"], "from": None}, True),  # sent on behalf of a chat
        ({**text("hi")["message"], "from": {"id": 5}}, False),  # a User needs is_bot, first_name
        ({**text("hi")["message"], "message_id": "7"}, False),  # strict: no "7" for 7
        ({**text("hi")["message"], "chat": {"id": 1}}, False),
        ({**text("hi")["message"], "text": None}, False),
        (None, False),
    ],
)
def test_a_message_that_does_not_fit_the_view_takes_the_ptb_path(message, fits):
    from bot.handlers import FAST_HANDLERS
    from bot_contract.updates import UpdateType

    view = FAST_HANDLERS[UpdateType.TEXT].parse({"update_id": 1, "message": message})
    assert (view is not None) is fits
    if fits:
        assert isinstance(view, TextMessage)
        assert (view.chat_id, view.message_id) == (message["chat"]["id"], message["message_id"])


async def test_a_malformed_text_is_dead_lettered_by_the_ptb_path(bot_factory, stub, session, db):
    bot = await bot_factory()
    update = text("hi")
    update["message"]["message_id"] = "not a number"
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT reason FROM dead_letters") == "handler_error"
    assert stub.sent() == []
