"""The outbox under load: overload of the global limit drains and never locks up; retention
keeps up with volume; the pools are checked against the server. Real PostgreSQL, limits on."""

from __future__ import annotations

import asyncio
import sys
import time

import psycopg

from bot.pool_budget import check_pool_budget, read_budget
from bot.repo import Repo, Retention
from bot_contract import updates as u
from tests.bot.conftest import make_settings, outbox_settled, scalar, subprocess_env
from tests.bot.factories import text


async def test_twice_the_global_limit_drains_and_fresh_updates_are_acked(
    bot_factory, stub, session, db
):
    """The old limiter fell to 0 replies/s here: each refusal pushed the next slot out."""
    bot = await bot_factory(rate_global_per_s=10)
    offered = [text(f"m{i}", user=u.User(9000 + i, f"U{i}")) for i in range(60)]
    statuses = []
    for start in range(0, 60, 20):  # 20 distinct chats per second for 3 s: 2x the limit
        began = time.monotonic()
        answers = await asyncio.gather(*(bot.post(session, x) for x in offered[start : start + 20]))
        statuses += [a.status for a in answers]
        await asyncio.sleep(max(0.0, 1 - (time.monotonic() - began)))
    assert statuses == [200] * 60  # acknowledging never waits for a send slot
    fresh = text("fresh", user=u.User(9999, "Fresh"))
    assert (await bot.post(session, fresh)).status == 200
    assert await outbox_settled(db, timeout_s=30) == 61  # the backlog drained
    sent = stub.sent()
    assert sorted(c.params["chat_id"] for c in sent) == sorted(
        [x["message"]["chat"]["id"] for x in offered] + [9999]
    )  # each reply once
    assert bot.state.metrics.outbox_throttled._value.get() > 0  # the limiter did refuse ...
    times = sorted(c.at for c in sent)
    # ... and every refusal was free: 61 slots at 10/s span 6 s, not more than a little over.
    assert times[-1] - times[0] >= 60 * 0.1 * 0.9


async def test_retention_deletes_volume_in_batches_and_keeps_recent_rows(db):
    old, recent, batch = 50_000, 100, 10_000
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        for rows, age in ((old, "30 hours"), (recent, "1 minute")):
            await conn.execute(
                "INSERT INTO processed_updates (update_id, update_type, processed_at)"
                " SELECT g, 'text', now() - %s::interval FROM generate_series("
                "(SELECT coalesce(max(update_id), 0) + 1 FROM processed_updates),"
                " (SELECT coalesce(max(update_id), 0) FROM processed_updates) + %s) AS g",
                (age, rows),
            )
        await conn.execute(
            "INSERT INTO outbox (update_id, seq, method, params, state, created_at, done_at)"
            " SELECT update_id, 0, 'sendMessage', '{}', 'sent', processed_at, processed_at"
            " FROM processed_updates"
        )
        await conn.execute(
            "INSERT INTO dead_letters (reason, body, received_at)"
            " SELECT 'x', '', now() - interval '15 days' FROM generate_series(1, 2000)"
        )
        await conn.execute(
            "INSERT INTO conversations (chat_id, user_id, state, updated_at)"
            " SELECT g, g, 'awaiting_note', now() - interval '2 days'"
            " FROM generate_series(1, 2000) AS g"
        )
        retention = Retention(dedupe_s=26 * 3600, dead_letters_s=14 * 86400,
                              conversations_s=86400)  # fmt: skip
        began = time.perf_counter()
        deleted = await Repo(conn).prune(retention, batch=batch, budget_s=120)
        took = time.perf_counter() - began
    assert deleted["processed_updates"] == deleted["outbox"] == old  # all of it, by batches
    assert (deleted["dead_letters"], deleted["conversations"]) == (2000, 2000)
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == recent
    assert await scalar(db, "SELECT count(*) FROM outbox") == recent
    total = sum(deleted.values())
    print(f"pruned {total} rows in {took:.2f} s: {total / took:,.0f} rows/s")


async def test_the_pool_check_compares_workers_times_pool_with_the_server(db, stub):
    settings = make_settings(db, stub.url)
    server_max = int(await scalar(db, "SHOW max_connections"))
    reserved = int(await scalar(db, "SHOW superuser_reserved_connections"))
    allowed = server_max - reserved - settings.db_connection_reserve
    fits = read_budget(settings, allowed // settings.pool_max)
    over = read_budget(settings, allowed // settings.pool_max + 1)
    assert fits is not None
    assert over is not None
    assert (fits.fits, over.fits) == (True, False)
    assert f"max_connections {server_max}" in over.explain()
    refuse = make_settings(db, stub.url, db_pool_check="refuse")
    assert check_pool_budget(refuse, allowed // settings.pool_max + 1) is False
    assert check_pool_budget(settings, allowed // settings.pool_max + 1) is True  # warn only
    # The command refuses to start, with the arithmetic, before binding anything.
    workers = str(allowed // settings.pool_max + 1)
    env = subprocess_env(db, stub.url, 0, BOT_DB_POOL_CHECK="refuse")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--workers", workers, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, out
    assert b"refusing to start" in out
    assert f"{workers} workers x BOT_DB_POOL_MAX".encode() in out
