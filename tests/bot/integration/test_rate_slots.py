"""The fleet-wide send slots and the claim, as the database functions of migration 0003 do them."""

from __future__ import annotations

import psycopg
import pytest

from bot.repo import Repo
from tests.bot.conftest import scalar


async def test_slots_on_a_key_are_one_interval_apart(db):
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        repo = Repo(conn)
        assert (await repo.reserve_slot(["chat:1"], [1.0])).delay == 0
        second = (await repo.reserve_slot(["chat:1"], [1.0])).delay
        third = (await repo.reserve_slot(["chat:1"], [1.0])).delay
    assert 0.5 < second <= 1.0  # the next free slot, one interval after the first
    assert 1.5 < third <= 2.0


async def test_a_reservation_on_two_keys_waits_for_the_later_slot(db):
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        repo = Repo(conn)
        await repo.reserve_slot(["group:-5"], [3.0])
        both = (await repo.reserve_slot(["chat:-5", "group:-5"], [1.0, 3.0])).delay
        with pytest.raises(ValueError, match="at most 2"):
            await repo.reserve_slot(["a", "b", "c"], [1.0, 1.0, 1.0])
    assert 2.5 < both <= 3.0
    assert await scalar(db, "SELECT count(*) FROM rate_slots") == 2  # the refusal wrote nothing


async def test_a_duplicate_claim_reserves_no_slot_and_reads_the_conversation(db):
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        repo = Repo(conn)
        await conn.execute(
            "INSERT INTO conversations (chat_id, user_id, state) VALUES (7, 8, 'awaiting_note')"
        )
        first = await repo.begin_and_claim(1, "text", 7, 8, ["chat:7"], [1.0])
        await repo.commit(1)
        again = await repo.begin_and_claim(1, "text", 7, 8, ["chat:7"], [1.0])
        await repo.rollback()
    assert (first.claimed, first.delay, first.conversation) == (True, 0.0, "awaiting_note")
    assert (again.claimed, again.delay) == (False, 0.0)
    slot = await scalar(db, "SELECT last_at - extract(epoch FROM now()) FROM rate_slots")
    assert slot < 0.5  # one reservation only: the duplicate did not push the chat's slot out
