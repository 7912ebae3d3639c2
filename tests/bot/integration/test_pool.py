"""The database pool's connections follow the settings (prepared statements vs PgBouncer)."""

from __future__ import annotations

import pytest

from tests.bot.factories import text


@pytest.mark.parametrize("threshold", [None, 0, 7])
async def test_pool_connections_use_the_prepare_threshold(bot_factory, session, threshold):
    bot = await bot_factory(db_prepare_threshold=threshold)
    assert (await bot.post(session, text("hello"))).status == 200
    assert bot.state.pool is not None
    async with bot.state.pool.connection() as conn:
        assert conn.prepare_threshold == threshold
