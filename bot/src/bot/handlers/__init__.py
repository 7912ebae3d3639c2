"""PTB handlers: they read and write through ``context.unit.store`` and queue replies.

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

from bot.handlers import commands, events, messages

if TYPE_CHECKING:
    from telegram.ext import Application

__all__ = ["add_handlers"]


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
            MessageHandler(new_message & filters.TEXT, messages.on_text),
            MessageHandler(new_message & filters.PHOTO, messages.on_photo),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE, messages.on_edited_message),
            CallbackQueryHandler(events.on_callback_query),
            ChatMemberHandler(events.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            TypeHandler(Update, events.on_unknown_update),
        ]
    )
    application.add_error_handler(events.on_error)
