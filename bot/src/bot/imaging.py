"""The image-processing step for photos (a separate service later; a function for now).

It identifies the format from the magic bytes and fingerprints the content. Large images are
hashed in a worker thread so the event loop keeps serving other updates.
"""

from __future__ import annotations

import asyncio
import hashlib

from bot.unit import PhotoFacts

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF8", "gif"),
    (b"RIFF", "webp"),
)
_THREAD_THRESHOLD = 256 * 1024


def sniff_format(data: bytes) -> str:
    """The image format named by the leading magic bytes, or ``"unknown"``."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return "unknown"


def describe(file_id: str, data: bytes) -> PhotoFacts:
    """Size, SHA-256 and format of an image."""
    return PhotoFacts(
        file_id=file_id,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        format=sniff_format(data),
    )


async def process_image(file_id: str, data: bytes) -> PhotoFacts:
    """Process a downloaded image without blocking the loop for big files."""
    if len(data) > _THREAD_THRESHOLD:
        return await asyncio.to_thread(describe, file_id, data)
    return describe(file_id, data)
