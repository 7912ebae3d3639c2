"""Fetching a photo before the update's transaction: ``getFile``, the size cap, the download.

Nothing here runs while a transaction is open or a row lock is held. ``getFile``'s
``file_size`` is checked against ``BOT_MAX_PHOTO_BYTES`` before downloading, and the download
stream is cut off at the cap too (``file_size`` is optional in the Bot API).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.botapi import BotApiError, TransientApiError
from bot.imaging import process_image
from bot.unit import PhotoFetch

if TYPE_CHECKING:
    from bot.botapi import BotApi

log = logging.getLogger(__name__)

TOO_LARGE = "too_large"
UNAVAILABLE = "unavailable"
_CHUNK = 64 * 1024


def largest_photo_id(update: dict[str, Any]) -> str | None:
    """The ``file_id`` of the largest size of a photo message, or None if there is none."""
    message = update.get("message")
    photo = message.get("photo") if isinstance(message, dict) else None
    if not isinstance(photo, list) or not photo or not isinstance(photo[-1], dict):
        return None
    file_id = photo[-1].get("file_id")
    return file_id if isinstance(file_id, str) else None


async def fetch_photo(api: BotApi, file_id: str, max_bytes: int) -> PhotoFetch:
    """Resolve, size-check, download and describe one photo.

    Raises:
        TransientApiError: no usable answer (a redelivery may succeed).
    """
    try:
        info = await api.call("getFile", {"file_id": file_id})
    except BotApiError as exc:
        log.warning("getFile refused: %s", exc.description, extra={"status": exc.status})
        return PhotoFetch(None, UNAVAILABLE)
    if not isinstance(info, dict) or not isinstance(info.get("file_path"), str):
        return PhotoFetch(None, UNAVAILABLE)
    size = info.get("file_size")
    if isinstance(size, int) and size > max_bytes:
        return PhotoFetch(None, TOO_LARGE)
    try:
        data = await _download(api, info["file_path"], max_bytes)
    except BotApiError:
        return PhotoFetch(None, UNAVAILABLE)
    if data is None:
        return PhotoFetch(None, TOO_LARGE)
    return PhotoFetch(await process_image(file_id, data))


async def _download(api: BotApi, file_path: str, max_bytes: int) -> bytes | None:
    """The file's bytes, or None once the stream passes ``max_bytes`` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    started = time.perf_counter()
    status = "error"
    try:
        async with api.session().get(api.file_prefix + file_path) as resp:
            status = str(resp.status)
            if resp.status >= 500:
                raise TransientApiError(f"file download: {resp.status}")
            if resp.status != 200:
                raise BotApiError("file", resp.status, "download refused")
            async for chunk in resp.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    return None
                chunks.append(chunk)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientApiError(f"file download: {type(exc).__name__}") from None
    finally:
        api._observe("file", status, started)  # "file": never the path (one series per photo)
    return b"".join(chunks)
