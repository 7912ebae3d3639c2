"""The image-processing step."""

from __future__ import annotations

import hashlib

from bot.imaging import describe, process_image, sniff_format


def test_sniffs_formats():
    assert sniff_format(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff_format(b"\xff\xd8\xff\xe0....") == "jpeg"
    assert sniff_format(b"GIF89a") == "gif"
    assert sniff_format(b"hello") == "unknown"


async def test_large_images_are_processed_off_the_loop():
    data = b"\xff\xd8\xff" + b"x" * 300_000
    facts = await process_image("f", data)
    assert facts == describe("f", data)
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.size_bytes == len(data)
