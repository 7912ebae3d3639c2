"""Update JSON builders: the shapes Telegram posts to a webhook, as plain dicts.

Each builder returns one ``Update`` object as Telegram serialises it (Bot API 10.1), so
PTB's ``Update.de_json`` parses it. The builders are deterministic: callers pass ids, users,
chats and times. The traffic model (populations, Zipf activity, mixes, id allocation) builds
on these.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

JSON = dict[str, Any]


class UpdateType(StrEnum):
    """The update kinds tgscale generates; the value is the label used in metrics and stats."""

    TEXT = "text"
    COMMAND = "command"
    CALLBACK_QUERY = "callback_query"
    PHOTO = "photo"
    EDITED_MESSAGE = "edited_message"
    MY_CHAT_MEMBER = "my_chat_member"


@dataclass(frozen=True)
class User:
    """A Telegram user (never a bot here)."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str = "en"

    def to_json(self) -> JSON:
        """The ``User`` object."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Chat:
    """A chat: private chats share the user's id; groups have negative ids and a title."""

    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    first_name: str | None = None

    @classmethod
    def private(cls, user: User) -> "Chat":
        """The private chat between ``user`` and the bot."""
        return cls(id=user.id, type="private", first_name=user.first_name)

    def to_json(self) -> JSON:
        """The ``Chat`` object."""
        data: JSON = {"id": self.id, "type": self.type}
        if self.title is not None:
            data["title"] = self.title
        if self.first_name is not None:
            data["first_name"] = self.first_name
        return data


def message(*, message_id: int, user: User, chat: Chat, date: int, text: str | None = None) -> JSON:
    """A ``Message`` with text; a leading ``/command`` gets its ``bot_command`` entity."""
    data: JSON = {
        "message_id": message_id,
        "from": user.to_json(),
        "chat": chat.to_json(),
        "date": date,
    }
    if text is not None:
        data["text"] = text
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            data["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return data


def text_update(
    update_id: int, *, message_id: int, user: User, chat: Chat, date: int, text: str
) -> JSON:
    """An update carrying a new text message (a command when ``text`` starts with ``/``)."""
    msg = message(message_id=message_id, user=user, chat=chat, date=date, text=text)
    return {"update_id": update_id, "message": msg}


def photo_update(
    update_id: int,
    *,
    message_id: int,
    user: User,
    chat: Chat,
    date: int,
    file_id: str,
    caption: str | None = None,
) -> JSON:
    """An update carrying a photo, in the three sizes Telegram usually sends."""
    msg = message(message_id=message_id, user=user, chat=chat, date=date)
    msg["photo"] = [
        {
            "file_id": f"{file_id}-{side}",
            "file_unique_id": f"u{file_id}-{side}"[:32],
            "width": side,
            "height": side * 3 // 4,
            "file_size": side * side // 10,
        }
        for side in (90, 320, 1280)
    ]
    if caption is not None:
        msg["caption"] = caption
    return {"update_id": update_id, "message": msg}


def edited_message_update(
    update_id: int,
    *,
    message_id: int,
    user: User,
    chat: Chat,
    date: int,
    edit_date: int,
    text: str,
) -> JSON:
    """An update saying that an earlier text message was edited."""
    msg = message(message_id=message_id, user=user, chat=chat, date=date, text=text)
    msg["edit_date"] = edit_date
    return {"update_id": update_id, "edited_message": msg}


def callback_query_update(
    update_id: int,
    *,
    query_id: str,
    user: User,
    chat: Chat,
    message_id: int,
    message_date: int,
    data: str,
) -> JSON:
    """An update for a press on an inline button of a message the bot sent earlier."""
    bot_message = {
        "message_id": message_id,
        "from": {"id": 1, "is_bot": True, "first_name": "tgscale", "username": "tgscale_bot"},
        "chat": chat.to_json(),
        "date": message_date,
        "text": "Your notes",
    }
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": user.to_json(),
            "message": bot_message,
            "chat_instance": str(abs(chat.id) * 7919),
            "data": data,
        },
    }


def my_chat_member_update(
    update_id: int, *, user: User, chat: Chat, date: int, blocked: bool
) -> JSON:
    """An update for the bot's own membership change: blocked (kicked) or unblocked by ``user``."""
    bot_user = {"id": 1, "is_bot": True, "first_name": "tgscale", "username": "tgscale_bot"}
    member = {"status": "member", "user": bot_user}
    kicked = {"status": "kicked", "user": bot_user, "until_date": 0}
    old, new = (member, kicked) if blocked else (kicked, member)
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat.to_json(),
            "from": user.to_json(),
            "date": date,
            "old_chat_member": old,
            "new_chat_member": new,
        },
    }


def update_kind(update: JSON) -> UpdateType | None:
    """Classify an update dict the way metrics and stats label it (``None``: not one of ours)."""
    if "callback_query" in update:
        return UpdateType.CALLBACK_QUERY
    if "edited_message" in update:
        return UpdateType.EDITED_MESSAGE
    if "my_chat_member" in update:
        return UpdateType.MY_CHAT_MEMBER
    msg = update.get("message")
    if isinstance(msg, dict):
        if "photo" in msg:
            return UpdateType.PHOTO
        text = msg.get("text")
        if isinstance(text, str):
            return UpdateType.COMMAND if text.startswith("/") else UpdateType.TEXT
    return None
