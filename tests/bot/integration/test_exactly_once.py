"""Exactly-once effects under at-least-once delivery."""

from __future__ import annotations

import asyncio

import aiohttp

from bot_contract.webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.bot.conftest import SECRET, outbox_settled, scalar
from tests.bot.factories import text


async def test_same_update_twice_has_one_effect(bot_factory, stub, session, db):
    bot = await bot_factory()
    update = text("/note buy milk")
    first = await bot.post(session, update)
    second = await bot.post(session, update)
    assert (first.status, second.status) == (200, 200)
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert await outbox_settled(db) == 1
    assert len(stub.sent()) == 1
    assert bot.state.metrics.duplicates.labels("command")._value.get() == 1
    assert bot.state.metrics.updates.labels("command", "duplicate")._value.get() == 1


async def test_concurrent_deliveries_have_one_effect(bot_factory, stub, session, db):
    bot = await bot_factory()
    update = text("/note concurrent")
    answers = await asyncio.gather(*(bot.post(session, update) for _ in range(8)))
    assert [a.status for a in answers] == [200] * 8
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert await outbox_settled(db) == 1
    assert len(stub.sent()) == 1


async def test_concurrent_deliveries_to_two_instances_have_one_effect(
    bot_factory, stub, session, db
):
    one, two = await bot_factory(), await bot_factory()
    update = text("/note two replicas")
    answers = await asyncio.gather(*(b.post(session, update) for b in (one, two, one, two)))
    assert {a.status for a in answers} == {200}
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert await outbox_settled(db) == 1
    assert len(stub.sent()) == 1


async def test_lost_answer_then_redelivery_has_one_effect(bot_factory, stub, session, db):
    """Committed, but Telegram never saw the 200 (as after a crash): redelivery is a no-op."""
    bot = await bot_factory(test_handler_delay_ms=300)
    update = text("/note lost answer")
    timeout = aiohttp.ClientTimeout(total=0.1)
    try:
        async with session.post(
            bot.url + WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}, timeout=timeout
        ):
            raise AssertionError("the answer should not arrive within 0.1 s")
    except TimeoutError:
        pass
    for _ in range(300):  # the bot finishes the work although the client left
        if await scalar(db, "SELECT count(*) FROM processed_updates"):
            break
        await asyncio.sleep(0.02)
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert await outbox_settled(db) == 1
    assert len(stub.sent()) == 1


async def test_pruning_keeps_recent_rows_and_drops_old_ones(bot_factory, stub, session, db):
    bot = await bot_factory()
    old, new = text("old"), text("new")
    assert (await bot.post(session, old)).status == 200
    assert (await bot.post(session, new)).status == 200
    assert await outbox_settled(db) == 2
    for sql in (
        "UPDATE processed_updates SET processed_at = now() - interval '30 hours'"
        " WHERE update_id = %s RETURNING 1",
        "UPDATE outbox SET done_at = now() - interval '30 hours' WHERE update_id = %s RETURNING 1",
    ):
        await scalar(db, sql, old["update_id"])
    from bot.repo import Repo, Retention

    retention = Retention(dedupe_s=26 * 3600, dead_letters_s=14 * 86400, conversations_s=86400)
    async with bot.state.pool.connection() as conn:
        deleted = await Repo(conn).prune(retention)
    assert (deleted["processed_updates"], deleted["outbox"]) == (1, 1)
    ids = await scalar(db, "SELECT array_agg(update_id) FROM processed_updates")
    assert ids == [new["update_id"]]
    assert await scalar(db, "SELECT array_agg(update_id) FROM outbox") == [new["update_id"]]
