"""Queueing a reply to a message: ``sendMessage`` with ``reply_parameters`` (the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.unit import UpdateUnit


class Answerable(Protocol):
    """A received message: PTB's ``Message`` or a fast-path view."""

    @property
    def chat_id(self) -> int:
        """The chat the message was sent in."""

    @property
    def message_id(self) -> int:
        """The message's id in its chat."""


def reply_text(
    unit: UpdateUnit, message: Answerable, text: str, reply_markup: dict[str, Any] | None = None
) -> None:
    """Queue a ``sendMessage`` answering ``message`` in its chat."""
    params: dict[str, Any] = {
        "chat_id": message.chat_id,
        "text": text,
        "reply_parameters": {"message_id": message.message_id},
    }
    if reply_markup is not None:
        params["reply_markup"] = reply_markup
    unit.reply("sendMessage", params, chat_id=message.chat_id)
