"""Builds the PTB ``Application``: no updater, no persistence, no JobQueue; our transport.

The application only routes updates to handlers (``process_update``); the web layer receives
updates and the pipeline owns transactions and replies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, ContextTypes

from bot.botapi import PTBRequest
from bot.handlers import add_handlers
from bot.unit import BotContext

if TYPE_CHECKING:
    from bot.botapi import BotApi
    from bot.settings import Settings

PTBApplication = Application[Any, BotContext, None, None, None, None]


def build_application(settings: Settings, api: BotApi) -> PTBApplication:
    """The PTB application for ``settings``, talking to ``BOT_API_BASE_URL`` through ``api``.

    ``updater(None)``: updates come from our webhook route. No persistence and no JobQueue:
    every replica is interchangeable and all state lives in PostgreSQL.
    """
    root = settings.api_base_url
    application = (
        Application.builder()
        .token(settings.token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .request(PTBRequest(api))
        .get_updates_request(PTBRequest(api))
        .updater(None)
        .job_queue(None)
        .context_types(ContextTypes(context=BotContext))
        .build()
    )
    add_handlers(application)
    return application  # type: ignore[return-value]
