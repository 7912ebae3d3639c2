"""Behaviour across real processes: migrations racing, SIGTERM drain, the fleet-wide rate
limiter, a crash mid-update, and multiprocess metrics."""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys

import aiohttp

from bot.repo import migration_files
from bot_contract import updates as u
from bot_contract.webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.bot.conftest import SECRET, TOKEN, outbox_settled, scalar
from tests.bot.factories import ALICE, text


async def post(client: aiohttp.ClientSession, url: str, update: dict) -> int:
    async with client.post(
        url + WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}
    ) as resp:
        await resp.read()
        return resp.status


async def test_migrations_racing_from_several_processes(database_url):
    env = {
        "DATABASE_URL": database_url,
        "BOT_ENV": "test",
        "BOT_TOKEN": TOKEN,
        "BOT_WEBHOOK_SECRET": SECRET,
    }
    import os

    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "migrate",
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    applied = [out.decode() for out, _ in outputs]
    assert sum("0001_initial.sql" in line for line in applied) == 1  # exactly one run applied it
    assert await scalar(database_url, "SELECT count(*) FROM schema_migrations") == len(
        migration_files()
    )
    assert await scalar(database_url, "SELECT count(*) FROM processed_updates") == 0


async def test_sigterm_finishes_in_flight_updates_after_turning_readiness_off(spawn_bot, stub, db):
    bot = await spawn_bot(BOT_TEST_HANDLER_DELAY_MS="3000", BOT_SHUTDOWN_GRACE_S="20")
    async with aiohttp.ClientSession() as client:
        # Five chats: Telegram sends one update per chat at a time.
        updates = [text(f"/note in flight {i}", user=u.User(3000 + i, f"U{i}")) for i in range(5)]
        posts = [asyncio.create_task(post(client, bot.url, u)) for u in updates]
        for _ in range(200):
            async with client.get(bot.url + "/metrics") as resp:
                if "tgbot_updates_in_flight 5.0" in await resp.text():
                    break
            await asyncio.sleep(0.05)
        bot.proc.send_signal(signal.SIGTERM)
        readiness = []
        for _ in range(100):
            async with client.get(bot.url + "/readyz") as resp:
                readiness.append(resp.status)
            if readiness[-1] == 503:
                break
            await asyncio.sleep(0.02)
        assert readiness[-1] == 503
        assert not any(p.done() for p in posts)  # readiness went off while the updates ran
        assert await asyncio.gather(*posts) == [200] * 5, bot.log.read_text()[-3000:]
    assert await asyncio.wait_for(bot.proc.wait(), 30) in (0, -signal.SIGTERM)
    assert await scalar(db, "SELECT count(*) FROM notes") == 5
    # Replies committed but not yet sent when the process left are any other replica's.
    await spawn_bot()
    assert await outbox_settled(db) == 5
    assert len(stub.sent()) == 5


async def test_rate_limit_and_chat_order_hold_with_three_processes_sending(spawn_bot, stub, db):
    stub.set_flood()  # the emulator enforces Telegram's limits: it would answer 429
    bots = [await spawn_bot() for _ in range(3)]
    async with aiohttp.ClientSession() as client:
        statuses = [await post(client, bots[i % 3].url, text(f"msg {i}")) for i in range(5)]
    assert statuses == [200] * 5  # acknowledged at once, whatever the chat's budget
    sent = await stub.wait_sent(5)
    assert await outbox_settled(db) == 5
    mine = [c for c in sent if c.params["chat_id"] == ALICE.id]
    # In update_id order although three senders competed for the rows.
    assert [c.params["text"] for c in mine] == [f"Got it ({len(f'msg {i}')} characters)."
                                                for i in range(5)]  # fmt: skip
    order = await scalar(
        db, "SELECT array_agg(update_id ORDER BY message_id) FROM outbox WHERE state = 'sent'"
    )
    assert order == sorted(order)
    gaps = [b.at - a.at for a, b in itertools.pairwise(mine)]
    # Slots are 1 s apart in the database clock; allow for scheduling jitter on a busy machine.
    assert min(gaps) >= 0.8, gaps
    assert stub.state.stats()["rate_limited"]["total"] == 0  # Telegram never had to say 429


async def test_a_sender_killed_mid_call_is_taken_over_and_the_window_counted(spawn_bot, stub, db):
    stub.set_faults("sendMessage", latency_ms=120_000)  # the call hangs: the sender holds it
    fast_lease = {"BOT_SENDER_HOLD_S": "1", "BOT_API_TIMEOUT_S": "2"}  # lease: 1+1+2+5 = 9 s
    bot = await spawn_bot(**fast_lease)
    update = text("/note survive a crash")
    async with aiohttp.ClientSession() as client:
        assert await post(client, bot.url, update) == 200  # committed, the reply is queued
        await asyncio.wait_for(stub.received.wait(), 30)
        import os

        os.killpg(bot.proc.pid, signal.SIGKILL)  # mid-call: the Bot API may have executed it
        await bot.proc.wait()
        stub.clear_faults()
        replacement = await spawn_bot(**fast_lease)
        assert await post(client, replacement.url, update) == 200  # a redelivery: a duplicate
        assert await outbox_settled(db, timeout_s=40) == 1  # taken over once the lease expired
        async with client.get(replacement.url + "/metrics") as resp:
            exposition = await resp.text()
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert await scalar(db, "SELECT array[state, attempts::text] FROM outbox") == ["sent", "2"]
    assert "tgbot_outbox_in_doubt_total 1.0" in exposition  # the duplicate window, counted
    assert len(stub.sent()) == 2  # the hung call and the takeover's


async def test_two_workers_share_one_port_and_aggregate_metrics(spawn_bot, stub, db):
    bot = await spawn_bot("--workers", "2")
    async with aiohttp.ClientSession() as client:
        statuses = []
        for i in range(12):
            async with aiohttp.ClientSession() as fresh:  # new connections spread over workers
                statuses.append(await post(fresh, bot.url, text(f"w{i}")))
        assert statuses == [200] * 12
        async with client.get(bot.url + "/metrics") as resp:
            body = await resp.text()
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("tgbot_updates_total{") and 'outcome="handled"' in line
    )
    assert total == 12
    assert "tgbot_ready 1.0" in body
    bot.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(bot.proc.wait(), 30) in (0, -signal.SIGTERM)
