from __future__ import annotations

import psycopg

from bot_contract import updates as u

USER = u.User(42, "Ada")
CHAT = u.Chat.private(USER)


async def test_start_registers_user(bot_factory, stub, session, db):
    bot = await bot_factory()
    resp = await bot.post(session, u.text_update(1, message_id=10, user=USER, chat=CHAT, date=1, text="/start"))
    assert resp.status == 200
    assert len(stub.sent()) == 1
    with psycopg.connect(db) as conn:
        assert conn.execute("select count(*) from users").fetchone() == (1,)
