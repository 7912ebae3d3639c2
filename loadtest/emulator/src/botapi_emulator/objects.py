"""Result objects as the Bot API returns them (User, Chat, Message, PhotoSize, File) and files.

Files are not stored: a ``file_path`` names the image's size, and the download route renders a
deterministic JPEG of that size, so the bot's image processing gets a real, decodable picture.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from typing import Any

from PIL import Image

JSON = dict[str, Any]

#: Telegram's sizes for a photo the bot uploads (the thumbnails it derives).
UPLOAD_PHOTO_SIDES = (90, 320, 800)
#: Photos in tgscale's generated updates carry file ids ending in ``-<width>`` (bot_contract).
_SIDE_SUFFIX = re.compile(r"-(\d{1,4})$")
_FILE_PATH = re.compile(r"photos/file_(\d{1,4})x(\d{1,4})_[0-9a-f]{16}\.jpg")
_DEFAULT_SIZE = (320, 240)
_MAX_SIDE = 1280


def bot_user(bot_id: int) -> JSON:
    """The bot's own ``User`` (getMe, and ``from`` of the messages it sends)."""
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "tgscale emulator",
        "username": f"tgscale_emulator_{bot_id}_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def chat(chat_id: int | str) -> JSON:
    """A ``Chat`` for a chat id: positive ids are private, ``-100…`` supergroups, others groups."""
    if isinstance(chat_id, str):
        # An @username: give it a stable synthetic supergroup id.
        digest = int.from_bytes(hashlib.blake2b(chat_id.encode(), digest_size=5).digest())
        return {
            "id": -1_000_000_000_000 - digest,
            "type": "supergroup",
            "title": chat_id[1:],
            "username": chat_id[1:],
        }
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
    return {"id": chat_id, "type": kind, "title": f"Group {-chat_id}"}


def unique_id(file_id: str) -> str:
    """A stable ``file_unique_id`` for a ``file_id``."""
    return "AQAD" + hashlib.blake2b(file_id.encode(), digest_size=9).hexdigest()


def photo_size(file_id: str, width: int, height: int) -> JSON:
    """A ``PhotoSize`` whose ``file_size`` is the size of the JPEG the emulator serves for it."""
    return {
        "file_id": file_id,
        "file_unique_id": unique_id(file_id),
        "width": width,
        "height": height,
        "file_size": len(jpeg(width, height)),
    }


def size_of(file_id: str) -> tuple[int, int]:
    """The picture size for a ``file_id``: ``…-<width>`` gives width x 3/4 width, else 320x240."""
    match = _SIDE_SUFFIX.search(file_id)
    if not match:
        return _DEFAULT_SIZE
    side = min(max(int(match.group(1)), 16), _MAX_SIDE)
    return side, side * 3 // 4


def file_path(file_id: str) -> str:
    """The ``file_path`` for ``file_id``; it encodes the size the download route renders."""
    width, height = size_of(file_id)
    digest = hashlib.blake2b(file_id.encode(), digest_size=8).hexdigest()
    return f"photos/file_{width}x{height}_{digest}.jpg"


def file_object(file_id: str) -> JSON:
    """The ``File`` getFile returns."""
    width, height = size_of(file_id)
    return {
        "file_id": file_id,
        "file_unique_id": unique_id(file_id),
        "file_size": len(jpeg(width, height)),
        "file_path": file_path(file_id),
    }


def download(path: str) -> bytes | None:
    """The bytes behind a ``file_path`` (None when the emulator never issued such a path)."""
    match = _FILE_PATH.fullmatch(path)
    if not match:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    if not (16 <= width <= _MAX_SIDE and 1 <= height <= _MAX_SIDE):
        return None
    return jpeg(width, height)


@functools.lru_cache(maxsize=64)
def jpeg(width: int, height: int) -> bytes:
    """A deterministic JPEG of ``width`` x ``height``: a colour gradient (cached)."""
    red = Image.linear_gradient("L").resize((width, height))
    green = red.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    blue = Image.new("L", (width, height), 96)
    buffer = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()
