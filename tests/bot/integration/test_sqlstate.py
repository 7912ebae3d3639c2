"""Each transient SQLSTATE class answers 503 and loses nothing; a dead letter that cannot be
stored is a 503 too. Real PostgreSQL, limits on."""

from __future__ import annotations

import asyncio

import psycopg

from bot_contract import updates as u
from tests.bot.conftest import outbox_settled, scalar
from tests.bot.factories import text


async def _execute(url: str, sql: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SET default_transaction_read_only = off")
        await conn.execute(sql)


async def test_a_read_only_database_answers_503_and_stores_nothing(bot_factory, stub, session, db):
    """What a failover's read-only window looks like (25006); it used to be acknowledged."""
    name = await scalar(db, "SELECT current_database()")
    await _execute(db, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    read_only = await bot_factory()
    update = text("/note while read-only")
    answer = await read_only.post(session, update)
    assert (answer.status, answer.headers.get("Retry-After")) == (503, "1")
    await _execute(db, f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    for table in ("processed_updates", "notes", "dead_letters", "outbox"):
        assert await scalar(db, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608
    writable = await bot_factory()  # after the failover: new connections
    assert (await writable.post(session, update)).status == 200  # the redelivery
    assert await scalar(db, "SELECT count(*) FROM notes") == 1
    assert await outbox_settled(db) == 1


async def test_a_lock_timeout_answers_503_then_the_redelivery_succeeds(
    bot_factory, stub, session, db
):
    bot = await bot_factory(db_lock_timeout_ms=200)
    update = text("/note behind a lock")
    async with await psycopg.AsyncConnection.connect(db) as holder:
        # Another session holds the update's key (uncommitted): the claim waits on it.
        await holder.execute(
            "INSERT INTO processed_updates (update_id, update_type) VALUES (%s, 'command')",
            (update["update_id"],),
        )
        assert (await bot.post(session, update)).status == 503  # 55P03 after 200 ms
        await holder.rollback()
    assert (await bot.post(session, update)).status == 200
    assert await scalar(db, "SELECT count(*) FROM notes") == 1


async def test_terminated_connections_answer_503_then_recover(bot_factory, stub, session, db):
    """An administrator (or a failover) ends the bot's sessions: 57P01 / connection lost."""
    bot = await bot_factory(db_pool_min=4)
    assert (await bot.post(session, text("warm up"))).status == 200
    await outbox_settled(db)
    await scalar(
        db,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    statuses = [(await bot.post(session, text(f"after {i}"))).status for i in range(8)]
    assert 503 in statuses  # at least one delivery met a dead connection ...
    assert statuses[-1] == 200  # ... and the pool replaced them
    assert await scalar(db, "SELECT count(*) FROM dead_letters") == 0


async def test_a_dead_letter_that_cannot_be_stored_answers_503(bot_factory, stub, session, db):
    bot = await bot_factory()
    await _execute(db, "ALTER TABLE dead_letters ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
    garbage = b'{"update_id": 1, "message": "not an object"'
    assert (await bot.post(session, garbage)).status == 503  # not 200: nothing was stored
    await _execute(db, "ALTER TABLE dead_letters DROP CONSTRAINT refuse_all")
    assert (await bot.post(session, garbage)).status == 200
    assert await scalar(db, "SELECT reason FROM dead_letters") == "invalid_json"


async def test_a_stalled_bot_api_leaves_acks_immediate_and_no_transaction_open(
    bot_factory, stub, session, db
):
    stub.set_faults("sendMessage", latency_ms=3000)
    bot = await bot_factory()
    users = [text(f"hi {i}", user=u.User(7000 + i, f"U{i}")) for i in range(10)]
    answers = await asyncio.gather(*(bot.post(session, u) for u in users))
    assert [a.status for a in answers] == [200] * 10  # no ack waited for a send
    await stub.wait_sent(10)  # every call is now hanging in the Bot API ...
    idle_in_tx = await scalar(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND state LIKE 'idle in transaction%%'",
    )
    assert idle_in_tx == 0  # ... and no session holds a transaction open meanwhile
    stub.clear_faults()
    assert await outbox_settled(db) == 10
