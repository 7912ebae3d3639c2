"""The unit of work of one update, as handlers see it: a store, queued replies, the outcome.

Handlers never touch psycopg or send HTTP themselves. They read and write through
:class:`Store` (implemented by :mod:`bot.repo` on the update's transaction) and queue replies
with :meth:`UpdateUnit.reply`. The pipeline writes those replies as outbox rows in the same
transaction, then commits: so effects and "what to send" are committed together, once; the
sender makes the calls after the commit.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True)
class Note:
    """One stored note."""

    note_id: int
    text: str


@dataclass(frozen=True)
class PhotoFacts:
    """What the image-processing step found out about a photo."""

    file_id: str
    size_bytes: int
    sha256: str
    format: str


@dataclass(frozen=True)
class PhotoFetch:
    """A photo fetched before the update's transaction: its facts, or why there are none."""

    facts: PhotoFacts | None
    refused: str | None = None  # "too_large" (over BOT_MAX_PHOTO_BYTES) or "unavailable"


class Store(Protocol):
    """The database operations handlers may use, bound to the update's transaction.

    Writes that return nothing are queued and travel with the next statement or the commit
    (one round trip); a later read still sees them.
    """

    async def register_user(
        self,
        *,
        user_id: int,
        chat_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> bool:
        """Insert or refresh a user; True when the user is new."""

    async def set_conversation(self, *, chat_id: int, user_id: int, state: str | None) -> None:
        """Set (or with ``None`` clear) the conversation state of a user in a chat."""

    async def count_message(self, *, user_id: int) -> None:
        """Count a message on the user."""

    async def add_note(self, *, chat_id: int, user_id: int, message_id: int, text: str) -> int:
        """Store a note and return its id."""

    async def list_notes(self, *, user_id: int, limit: int) -> Sequence[Note]:
        """The user's latest notes, newest first."""

    async def delete_note(self, *, user_id: int, note_id: int) -> bool:
        """Delete one of the user's notes; False when it was not there."""

    async def edit_note(self, *, chat_id: int, message_id: int, text: str) -> bool:
        """Apply an edited message to the note it created; False when it was no note."""

    async def record_photo(
        self, *, update_id: int, user_id: int | None, chat_id: int, facts: PhotoFacts
    ) -> None:
        """Store the facts about a received photo."""

    async def set_blocked(self, *, user_id: int, chat_id: int, blocked: bool) -> None:
        """Record that the user blocked (or unblocked) the bot."""


@dataclass
class Reply:
    """A Bot API call queued by a handler: an outbox row, sent after the commit."""

    method: str
    params: dict[str, Any]
    chat_id: int | None = None  # set for messages, which count against the rate limits


@dataclass
class UpdateUnit:
    """Everything about the update being processed that handlers may read or change."""

    update_id: int
    store: Store
    replies: list[Reply] = field(default_factory=list)
    conversation: str | None = None  # the (chat, user) conversation state when it began
    photo: PhotoFetch | None = None  # the photo fetched before the transaction (photo updates)
    handled: bool = True  # the catch-all handler sets False: "no handler knew this update"
    error: BaseException | None = None

    def reply(self, method: str, params: dict[str, Any], *, chat_id: int | None = None) -> None:
        """Queue a Bot API call; it is written to the outbox when the update commits."""
        self.replies.append(Reply(method, params, chat_id))


#: The unit of the update being processed in this task (set by the pipeline).
current_unit: contextvars.ContextVar[UpdateUnit] = contextvars.ContextVar("current_unit")


class BotContext(CallbackContext[ExtBot[None], None, None, None]):
    """PTB's callback context plus :attr:`unit`; user_data/chat_data are never used here."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def unit(self) -> UpdateUnit:
        """The unit of work of the update being handled."""
        return current_unit.get()
