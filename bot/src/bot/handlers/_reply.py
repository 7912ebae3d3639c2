"""Queueing a reply to a message: ``sendMessage`` with ``reply_parameters`` (the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telegram import Message

    from bot.unit import BotContext


def reply_text(
    context: BotContext, message: Message, text: str, reply_markup: dict[str, Any] | None = None
) -> None:
    """Queue a ``sendMessage`` answering ``message`` in its chat."""
    params: dict[str, Any] = {
        "chat_id": message.chat_id,
        "text": text,
        "reply_parameters": {"message_id": message.message_id},
    }
    if reply_markup is not None:
        params["reply_markup"] = reply_markup
    context.unit.reply("sendMessage", params, chat_id=message.chat_id)
