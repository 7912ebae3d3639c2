"""The database stops mid-run: the bot answers 503 + Retry-After, then recovers without loss."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.bot.conftest import scalar
from tests.bot.factories import text


@pytest.fixture
def embedded_server(postgres_server_url):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL points at an external server; this test stops the embedded one")
    import pgserver
    import psycopg
    from pgserver._commands import pg_ctl

    with psycopg.connect(postgres_server_url) as conn:
        datadir = Path(conn.execute("SHOW data_directory").fetchone()[0])
    server = pgserver.get_server(datadir)

    def stop() -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

    def start() -> None:
        server.ensure_postgres_running()

    yield stop, start
    start()  # never leave the session's server down, even when the test fails


async def test_database_down_gives_503_then_recovers_without_loss(
    embedded_server, bot_factory, stub, session, db
):
    stop, start = embedded_server
    bot = await bot_factory(db_pool_timeout_s=1, retry_after_s=2)
    before = text("/note before the outage")
    assert (await bot.post(session, before)).status == 200

    await asyncio.to_thread(stop)
    during = [text(f"/note during the outage {i}") for i in range(3)]
    for update in during:
        resp = await bot.post(session, update)
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "2"
    async with session.get(bot.url + "/readyz") as resp:
        assert resp.status == 503
    async with session.get(bot.url + "/healthz") as resp:
        assert resp.status == 200  # alive: no restart needed, only no traffic

    await asyncio.to_thread(start)
    # Telegram redelivers each update until it gets a 2xx; do the same, bounded.
    for update in during:
        for _ in range(50):
            if (await bot.post(session, update)).status == 200:
                break
            await asyncio.sleep(0.2)
    assert await scalar(db, "SELECT count(*) FROM notes") == 4
    assert await scalar(db, "SELECT count(*) FROM processed_updates") == 4
    async with session.get(bot.url + "/readyz") as resp:
        assert resp.status == 200
    assert bot.state.metrics.updates.labels("command", "retry")._value.get() >= 3
