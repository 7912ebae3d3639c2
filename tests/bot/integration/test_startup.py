"""The bot starts while the Bot API is unreachable; readiness says so until getMe answers."""

from __future__ import annotations

import asyncio

from tests.bot.conftest import make_settings, outbox_settled, start_bot
from tests.bot.emulator import RecordingEmulator
from tests.bot.factories import text
from tests.support.ports import free_port


async def test_starts_without_the_bot_api_then_opens_when_getme_answers(db, session):
    port = free_port()  # nothing listens here yet
    bot = await start_bot(make_settings(db, f"http://127.0.0.1:{port}", api_timeout_s=1))
    try:
        async with session.get(bot.url + "/readyz") as resp:
            assert resp.status == 503
            assert (await resp.json())["status"] == "bot api unreachable (getMe)"
        assert (await bot.post(session, text("too early"))).status == 503  # Telegram retries
        api = RecordingEmulator(port=port)
        await api.start()
        try:
            for _ in range(300):  # getMe is retried with a growing pause (1 s, 2 s, ...)
                async with session.get(bot.url + "/readyz") as resp:
                    if resp.status == 200:
                        break
                await asyncio.sleep(0.05)
            assert resp.status == 200
            assert (await bot.post(session, text("now"))).status == 200
            assert await outbox_settled(db) == 1
        finally:
            await api.stop()
    finally:
        await bot.stop()
