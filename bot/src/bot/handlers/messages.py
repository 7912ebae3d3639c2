"""Message handlers: text (a note when one is awaited), photos, and edited messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.fastpath import TextMessage
from bot.handlers._reply import reply_text
from bot.handlers.commands import AWAITING_NOTE
from bot.photos import TOO_LARGE

if TYPE_CHECKING:
    from telegram import Update

    from bot.unit import BotContext, UpdateUnit


async def on_text(message: TextMessage, unit: UpdateUnit) -> None:
    """Count the message; store it as a note when ``/note`` asked for one (a fast handler)."""
    user_id = message.user_id if message.user_id is not None else message.chat_id
    store = unit.store
    await store.count_message(user_id=user_id)
    if unit.conversation == AWAITING_NOTE:
        note_id = await store.add_note(
            chat_id=message.chat_id,
            user_id=user_id,
            message_id=message.message_id,
            text=message.text,
        )
        await store.set_conversation(chat_id=message.chat_id, user_id=user_id, state=None)
        reply_text(unit, message, f"Saved note #{note_id}.")
    else:
        reply_text(unit, message, f"Got it ({len(message.text)} characters).")


async def on_text_update(update: Update, context: BotContext) -> None:
    """:func:`on_text`'s PTB entry, for text the fast path did not take."""
    if update.message is not None and update.message.text is not None:
        await on_text(TextMessage.from_ptb(update.message), context.unit)


async def on_photo(update: Update, context: BotContext) -> None:
    """Record the photo the pipeline fetched before the transaction (``unit.photo``)."""
    message = update.message
    if message is None or not message.photo:
        return
    fetched = context.unit.photo
    facts = fetched.facts if fetched is not None else None
    if facts is None:
        reason = fetched.refused if fetched is not None else None
        text = (
            "That photo is too large for me." if reason == TOO_LARGE
            else "I could not download that photo."
        )  # fmt: skip
        reply_text(context.unit, message, text)
        return
    await context.unit.store.record_photo(
        update_id=update.update_id,
        user_id=message.from_user.id if message.from_user else None,
        chat_id=message.chat_id,
        facts=facts,
    )
    reply_text(
        context.unit,
        message,
        f"Photo received: {facts.format}, {facts.size_bytes} bytes, sha256 {facts.sha256[:12]}.",
    )


async def on_edited_message(update: Update, context: BotContext) -> None:
    """Apply an edit to the note the original message created (no reply: nothing new to say)."""
    message = update.edited_message
    if message is None or message.text is None:
        return
    await context.unit.store.edit_note(
        chat_id=message.chat_id, message_id=message.message_id, text=message.text
    )
