"""The fleet-wide send slots (``take_slots``, migration 0004) and the claim."""

from __future__ import annotations

import psycopg

from bot.repo import Repo
from tests.bot.conftest import scalar


async def test_slots_on_a_key_are_one_interval_apart(db):
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        repo = Repo(conn)
        first = await repo.take_slots(["chat:1"], [1.0], 5.0)
        second = await repo.take_slots(["chat:1"], [1.0], 5.0)
        third = await repo.take_slots(["chat:1"], [1.0], 5.0)
    assert (first.taken, first.delay) == (True, 0.0)
    assert (second.taken, third.taken) == (True, True)
    assert 0.5 < second.delay <= 1.0  # one interval after the first
    assert 1.5 < third.delay <= 2.0


async def test_a_refusal_spends_no_budget(db):
    """The defect of the old limiter: each refusal pushed the next slot further out."""
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        repo = Repo(conn)
        assert (await repo.take_slots(["global"], [1.0], 0.5)).taken
        before = await scalar(db, "SELECT last_at FROM rate_slots WHERE key = 'global'")
        refusals = [await repo.take_slots(["global"], [1.0], 0.5) for _ in range(50)]
        after = await scalar(db, "SELECT last_at FROM rate_slots WHERE key = 'global'")
    assert not any(r.taken for r in refusals)
    assert after == before  # fifty refusals, the budget untouched
    assert all(0.5 < r.delay <= 1.0 for r in refusals)


async def test_slots_on_several_keys_are_taken_together_or_not_at_all(db):
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        repo = Repo(conn)
        await repo.take_slots(["group:-5"], [3.0], 5.0)
        refused = await repo.take_slots(["chat:-5", "global", "group:-5"], [1.0, 0.1, 3.0], 1.0)
        chat_after_refusal = await scalar(db, "SELECT count(*) FROM rate_slots")
        both = await repo.take_slots(["chat:-5", "global", "group:-5"], [1.0, 0.1, 3.0], 5.0)
    assert (refused.taken, both.taken) == (False, True)
    assert 2.5 < refused.delay <= 3.0
    assert 2.5 < both.delay <= 3.0  # the later slot of all keys
    assert chat_after_refusal == 3  # the keys exist, but ...
    # ... the refusal took nothing: the chat's and the global key's slots moved only once.
    slots = await scalar(
        db,
        "SELECT array_agg(round((last_at - extract(epoch FROM now()))::numeric, 0) ORDER BY key)"
        " FROM rate_slots",
    )
    assert [float(x) for x in slots] == [3.0, 3.0, 3.0]


async def test_a_duplicate_claim_reads_the_conversation_and_takes_no_slot(db):
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        repo = Repo(conn)
        await conn.execute(
            "INSERT INTO conversations (chat_id, user_id, state) VALUES (7, 8, 'awaiting_note')"
        )
        first = await repo.begin_and_claim(1, "text", 7, 8)
        await repo.commit(1)
        again = await repo.begin_and_claim(1, "text", 7, 8)
        await repo.rollback()
    assert (first.claimed, first.conversation) == (True, "awaiting_note")
    assert again.claimed is False
    assert await scalar(db, "SELECT count(*) FROM rate_slots") == 0
