"""Command handlers: /start registers the user; /note, /notes and /cancel drive the notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handlers._reply import reply_text

if TYPE_CHECKING:
    from telegram import Update

    from bot.unit import BotContext

AWAITING_NOTE = "awaiting_note"
HELP = (
    "/start: register\n/note <text>: save a note (or /note, then send the text)\n"
    "/notes: list your notes\n/cancel: stop what you started"
)
NOTES_SHOWN = 10


async def start_command(update: Update, context: BotContext) -> None:
    """Register (or refresh) the user and greet them."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    new = await context.unit.store.register_user(
        user_id=user.id,
        chat_id=message.chat_id,
        first_name=user.first_name,
        username=user.username,
        language_code=user.language_code,
    )
    greeting = "Welcome" if new else "Welcome back"
    reply_text(context.unit, message, f"{greeting}, {user.first_name}!\n{HELP}")


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands."""
    if update.effective_message is not None:
        reply_text(context.unit, update.effective_message, HELP)


async def note_command(update: Update, context: BotContext) -> None:
    """Save ``/note <text>`` at once, or ask for the text (state kept in PostgreSQL)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    store = context.unit.store
    text = " ".join(context.args or []).strip()
    if text:
        note_id = await store.add_note(
            chat_id=message.chat_id, user_id=user.id, message_id=message.message_id, text=text
        )
        reply_text(context.unit, message, f"Saved note #{note_id}.")
        return
    await store.set_conversation(chat_id=message.chat_id, user_id=user.id, state=AWAITING_NOTE)
    reply_text(context.unit, message, "Send me the note's text (or /cancel).")


async def notes_command(update: Update, context: BotContext) -> None:
    """List the latest notes, each with an inline button that deletes it."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    notes = await context.unit.store.list_notes(user_id=user.id, limit=NOTES_SHOWN)
    if not notes:
        reply_text(context.unit, message, "No notes yet. Try /note.")
        return
    keyboard = [
        [{"text": f"🗑 {note.text[:40]}", "callback_data": f"del:{note.note_id}"}] for note in notes
    ]
    listing = "\n".join(f"#{note.note_id}: {note.text[:200]}" for note in notes)
    reply_text(context.unit, message, f"Your notes:\n{listing}", {"inline_keyboard": keyboard})


async def cancel_command(update: Update, context: BotContext) -> None:
    """Leave any open conversation."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    await context.unit.store.set_conversation(chat_id=message.chat_id, user_id=user.id, state=None)
    reply_text(context.unit, message, "Cancelled.")


def addressed_elsewhere(text: str, username: str | None) -> bool:
    """Whether ``/command@name ...`` names another bot (a group's commands for other bots)."""
    command = text.split(maxsplit=1)[0] if text else ""
    _, at, target = command.partition("@")
    return bool(at) and (username is None or target.lower() != username.lower())


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer commands we do not know with the help text; ignore those for other bots."""
    message = update.effective_message
    if message is None:
        return
    if addressed_elsewhere(message.text or "", context.bot.username):
        return
    reply_text(context.unit, message, f"Unknown command.\n{HELP}")
