"""The fault run of the issue, scaled down: two bot processes (one SIGKILLed mid-run and
restarted), Bot API 5xx and jitter, a 429 storm (flood control stricter than our limiter),
10% redeliveries. Counts lost effects, lost replies and replies sent twice; a reply may be
sent twice only inside the documented window, which the takeover counts."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal

import aiohttp

from bot_contract import updates as u
from tests.bot.conftest import outbox_settled, scalar
from tests.bot.factories import text
from tests.bot.integration.test_processes import post

UPDATES = 300
USERS = 60
FAST_LEASE = {"BOT_SENDER_HOLD_S": "1", "BOT_API_TIMEOUT_S": "2"}  # lease 9 s: takeover in time


async def _deliver(client: aiohttp.ClientSession, urls: list[str], update: dict) -> None:
    """As Telegram does: until a 2xx, with a pause; any replica."""
    for _ in range(100):
        try:
            if await post(client, random.choice(urls), update) == 200:
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"update {update['update_id']} was never acknowledged")


def _counter(exposition: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", exposition, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_faults_lose_nothing_and_duplicate_only_inside_the_window(spawn_bot, stub, db):
    stub.set_faults("sendMessage", error_ratio=0.05, jitter_ms=300)
    stub.set_flood(per_chat_rate=0.5, per_chat_burst=1)  # Telegram says 429 to our 1/s
    one, two = await spawn_bot(**FAST_LEASE), await spawn_bot(**FAST_LEASE)
    urls = [one.url, two.url]
    users = [u.User(20_000 + n, f"F{n}") for n in range(USERS)]
    updates = [text(f"/note fault {i}", user=users[i % USERS]) for i in range(UPDATES)]
    rng = random.Random(12)
    async with aiohttp.ClientSession() as client:
        for start in range(0, UPDATES, 30):
            batch = updates[start : start + 30]
            await asyncio.gather(*(_deliver(client, urls, x) for x in batch))
            again = [x for x in batch if rng.random() < 0.1]  # redelivered after a 200
            await asyncio.gather(*(_deliver(client, urls, x) for x in again))
            if start == UPDATES // 2:
                os.killpg(one.proc.pid, signal.SIGKILL)  # mid-run, sends in flight
                await one.proc.wait()
                urls.remove(one.url)
                one = await spawn_bot(**FAST_LEASE)
                urls.append(one.url)
        await outbox_settled(db, timeout_s=180)
        in_doubt = 0.0
        for bot in (one, two):
            async with client.get(bot.url + "/metrics") as resp:
                in_doubt += _counter(await resp.text(), "tgbot_outbox_in_doubt_total")
    assert await scalar(db, "SELECT count(*) FROM notes") == UPDATES  # no effect lost or doubled
    assert await scalar(db, "SELECT count(*) FROM outbox WHERE state <> 'sent'") == 0
    pairs = [(x["message"]["chat"]["id"], x["message"]["message_id"]) for x in updates]
    check = await stub.check_replies(pairs)
    assert check.complete, check  # every update got its reply
    replies = stub.state.stats()["replies"]
    twice = replies["duplicate_messages"]
    print(
        f"faults: {UPDATES} updates, {twice} replies sent twice ({100 * twice / UPDATES:.2f}%),"
        f" {in_doubt:.0f} rows taken over in doubt, 429s {stub.state.stats()['rate_limited']}"
    )
    assert twice <= in_doubt  # only inside the documented, counted window
