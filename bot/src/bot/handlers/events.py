"""Non-message updates: inline-button presses, block/unblock, unknown updates, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import ChatMember

from bot.unit import current_unit

if TYPE_CHECKING:
    from telegram import Update

    from bot.unit import BotContext


async def on_callback_query(update: Update, context: BotContext) -> None:
    """Delete the note behind a ``del:<id>`` button; always answer the query."""
    query = update.callback_query
    if query is None:
        return
    text = "Unknown button."
    kind, _, value = (query.data or "").partition(":")
    if kind == "del" and value.isdigit():
        deleted = await context.unit.store.delete_note(
            user_id=query.from_user.id, note_id=int(value)
        )
        text = f"Deleted note #{value}." if deleted else "That note is already gone."
    context.unit.reply("answerCallbackQuery", {"callback_query_id": query.id, "text": text})


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """Record that a user blocked (kicked) or unblocked the bot."""
    change = update.my_chat_member
    if change is None:
        return
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    await context.unit.store.set_blocked(
        user_id=change.from_user.id, chat_id=change.chat.id, blocked=blocked
    )


async def on_unknown_update(update: Update, context: BotContext) -> None:  # noqa: ARG001
    """No other handler took the update: acknowledge it and count it as unhandled."""
    context.unit.handled = False


async def on_error(update: object, context: BotContext) -> None:  # noqa: ARG001
    """Hand the handler's exception to the pipeline, which rolls back and decides the answer."""
    unit = current_unit.get(None)
    if unit is not None and context.error is not None:
        unit.error = context.error
