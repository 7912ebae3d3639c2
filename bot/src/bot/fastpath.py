"""The fast path: update kinds whose handler reads a small validated view, not PTB objects.

Building PTB's object tree (``Update.de_json``) costs about 65 µs of CPU for a plain text
message, and routing it through ``Application.process_update`` about 15 µs more: together a
quarter of the bot's CPU per update (see bot/README.md, Benchmark). For the hottest kinds a
handler may instead take a pydantic view of just the fields it reads (about 1.5 µs to
validate). An update whose JSON does not fit the view takes the PTB path, so nothing is lost:
every fast handler also has a PTB entry that builds the same view from PTB's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from telegram import Message

    from bot.unit import UpdateUnit

View = TypeVar("View", bound="FastView")


class FastView(BaseModel):
    """Base of the views: strict types (no "123" for an int), unknown fields ignored."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    @property
    def chat_id(self) -> int | None:
        """The chat the update belongs to (rate limits, logs)."""
        return None

    @property
    def chat_type(self) -> str | None:
        """``private``, ``group``, ``supergroup`` or ``channel``."""
        return None

    @property
    def user_id(self) -> int | None:
        """Who sent the update (the conversation state is per chat and user)."""
        return None


class Chat(FastView):
    """The fields of a Bot API ``Chat`` the fast path reads."""

    id: int
    type: str


class Sender(FastView):
    """The fields of a Bot API ``User`` the fast path reads, and those the Bot API requires.

    ``is_bot`` and ``first_name`` are required in a ``User`` (PTB refuses one without them),
    so a view without them does not fit and the PTB path decides, as for every other kind.
    """

    id: int
    is_bot: bool
    first_name: str


class TextMessage(FastView):
    """A new message with text that is not a command (``update.message``)."""

    message_id: int
    chat: Chat
    sender: Sender | None = Field(default=None, alias="from")
    text: str

    @property
    def chat_id(self) -> int:
        """The message's chat."""
        return self.chat.id

    @property
    def chat_type(self) -> str:
        """The message's chat type."""
        return self.chat.type

    @property
    def user_id(self) -> int | None:
        """The sender (absent for some group messages sent on behalf of a chat)."""
        return self.sender.id if self.sender else None

    @classmethod
    def from_ptb(cls, message: Message) -> TextMessage:
        """The same view, built from PTB's ``Message`` (the PTB entry of a fast handler)."""
        sender = message.from_user
        return cls.model_validate(
            {
                "message_id": message.message_id,
                "chat": {"id": message.chat.id, "type": message.chat.type},
                "from": (
                    {"id": sender.id, "is_bot": sender.is_bot, "first_name": sender.first_name}
                    if sender
                    else None
                ),
                "text": message.text,
            }
        )


@dataclass(frozen=True)
class FastHandler(Generic[View]):
    """A handler that takes a view of one part of the update (e.g. ``message``)."""

    field: str  # the update's field the view is validated from
    view: type[View]
    handle: Callable[[View, UpdateUnit], Awaitable[None]]

    def parse(self, update: dict[str, Any]) -> View | None:
        """The view of ``update``, or None when it does not fit (the PTB path takes it)."""
        try:
            return self.view.model_validate(update.get(self.field))
        except ValidationError:
            return None
