"""Handlers: they read and write through the unit's store and queue replies.

Most are PTB handlers (``context.unit``); the hottest kinds are also fast handlers
(:mod:`bot.fastpath`), which take a small validated view of the update instead of PTB objects.

No handler imports psycopg or sends HTTP directly: replies are queued on the unit of work and
the pipeline sends and records them before the update's transaction commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.fastpath import FastHandler, TextMessage
from bot.handlers import commands, events, messages
from bot_contract.updates import UpdateType

if TYPE_CHECKING:
    from collections.abc import Mapping

    from telegram.ext import Application

__all__ = ["FAST_HANDLERS", "add_handlers"]

#: Kinds served without PTB objects (``BOT_FAST_PATH``); each also has a PTB entry below.
FAST_HANDLERS: Mapping[UpdateType, FastHandler[Any]] = {
    UpdateType.TEXT: FastHandler("message", TextMessage, messages.on_text),
}


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register every handler; the last one marks updates no handler knows."""
    new_message = filters.UpdateType.MESSAGE
    application.add_handlers(
        [
            CommandHandler("start", commands.start_command, filters=new_message),
            CommandHandler("help", commands.help_command, filters=new_message),
            CommandHandler("note", commands.note_command, filters=new_message),
            CommandHandler("notes", commands.notes_command, filters=new_message),
            CommandHandler("cancel", commands.cancel_command, filters=new_message),
            MessageHandler(new_message & filters.COMMAND, commands.unknown_command),
            MessageHandler(new_message & filters.TEXT, messages.on_text_update),
            MessageHandler(new_message & filters.PHOTO, messages.on_photo),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE, messages.on_edited_message),
            CallbackQueryHandler(events.on_callback_query),
            ChatMemberHandler(events.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            TypeHandler(Update, events.on_unknown_update),
        ]
    )
    application.add_error_handler(events.on_error)
