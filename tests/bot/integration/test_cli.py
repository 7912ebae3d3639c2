"""The command line: set-webhook against the Bot API stub, usage and configuration errors."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys

import pytest

from bot import cli
from tests.bot.conftest import SECRET, subprocess_env


@pytest.fixture
def bot_env(monkeypatch, db, stub):
    for key, value in subprocess_env(db, stub.url, 0).items():
        monkeypatch.setenv(key, value)
    # cli.main configures the root logger for JSON on stderr; give pytest its handlers back.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_set_webhook_sends_url_secret_and_limits(bot_env, stub, capsys):
    argv = [
        "set-webhook",
        "--url",
        "https://bot.example.test/telegram/webhook",
        "--max-connections",
        "80",
        "--allowed-updates",
        "message,callback_query",
    ]
    assert await asyncio.to_thread(cli.main, argv) == 0
    [call] = [c for c in stub.calls if c.method == "setWebhook"]
    assert call.params["url"] == "https://bot.example.test/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.params["max_connections"] == "80"
    assert json.loads(call.params["allowed_updates"]) == ["message", "callback_query"]
    assert call.params.get("drop_pending_updates", "false") == "false"  # only when asked
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["url"] == "https://bot.example.test/telegram/webhook"
    assert SECRET not in json.dumps(info)


async def test_set_webhook_drops_pending_only_when_asked(bot_env, stub):
    argv = ["set-webhook", "--url", "https://b.test/h", "--drop-pending-updates"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    [call] = [c for c in stub.calls if c.method == "setWebhook"]
    assert call.params["drop_pending_updates"] in ("true", "True")


async def test_set_webhook_reports_bot_api_failure(bot_env, stub):
    # The Bot API takes about one setWebhook with a URL per second; a second one gets 429.
    stub.set_flood()
    assert await asyncio.to_thread(cli.main, ["set-webhook", "--url", "https://b.test/one"]) == 0
    assert await asyncio.to_thread(cli.main, ["set-webhook", "--url", "https://b.test/two"]) == 1


async def test_usage_and_configuration_errors(bot_env, monkeypatch):
    assert (
        await asyncio.to_thread(
            cli.main, ["set-webhook", "--url", "https://b.test/h", "--max-connections", "0"]
        )
        == 2
    )
    assert await asyncio.to_thread(cli.main, ["serve", "--workers", "0"]) == 2
    monkeypatch.setenv("BOT_WEBHOOK_SECRET", "dev-secret")
    assert await asyncio.to_thread(cli.main, ["migrate"]) == 2


async def test_migrate_retries_then_reports_unreachable_database(bot_env, monkeypatch, capsys):
    """A bounded retry (a Job next to a starting database), then a clear error without the URL."""
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql://postgres@/postgres?host=/nonexistent&connect_timeout=1"
    )
    assert await asyncio.to_thread(cli.main, ["migrate", "--wait-s", "1.5"]) == 1
    err = capsys.readouterr().err
    assert "not reachable yet (attempt 1)" in err
    assert re.search(r"unreachable after ([2-9]|\d\d+) attempts", err)
    assert "nonexistent" not in err


class _RecordingConnection:
    """Delegates to a real connection and records each statement with the transaction status
    it ran in (the pooler's view: only statements inside a transaction share a server)."""

    def __init__(self, conn):
        self._conn = conn
        self.statements: list[tuple[str, str]] = []

    def transaction(self):
        return self._conn.transaction()

    async def execute(self, query, params=None):
        text = query.decode() if isinstance(query, bytes) else str(query)
        self.statements.append((text, self._conn.info.transaction_status.name))
        return await self._conn.execute(query, params)


async def test_migrate_locks_per_transaction_only(database_url):
    """Defect 7: a session advisory lock through PgBouncer's transaction mode can be taken and
    released on different server connections; every lock must be a transaction's."""
    import psycopg

    from bot.repo import migrate

    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        recording = _RecordingConnection(conn)
        assert await migrate(recording)  # type: ignore[arg-type]
    locks = [(text, status) for text, status in recording.statements if "advisory" in text]
    assert locks
    assert all("xact" in text and status == "INTRANS" for text, status in locks), locks


async def test_concurrent_migrations_apply_once(database_url):
    import psycopg

    from bot.repo import migrate

    async def run() -> list[str]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return await migrate(conn)

    first, second = await asyncio.gather(run(), run())
    assert sorted(first + second) == sorted(set(first + second))
    assert first or second


async def test_migrate_is_idempotent(bot_env, capsys):
    assert await asyncio.to_thread(cli.main, ["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


async def test_set_webhook_leaves_no_live_gauges_in_a_shared_metrics_dir(db, stub, tmp_path):
    # A separate process: prometheus_client picks multiprocess mode when it is imported.
    env = subprocess_env(db, stub.url, 0, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    argv = [sys.executable, "-m", "bot", "set-webhook", "--url", "https://b.test/h"]
    done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [c.method for c in stub.calls if c.method == "setWebhook"] == ["setWebhook"]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files, "multiprocess mode wrote no files: the test would prove nothing"
    assert [f for f in files if f.startswith("gauge_live")] == []
