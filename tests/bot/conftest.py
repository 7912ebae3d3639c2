"""Fixtures for the bot's tests: settings, a migrated database, the Bot API stub, a live server."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import psycopg
import pytest
import uvicorn

from bot.repo import migrate
from bot.settings import Settings
from bot.web import BotState, create_app
from bot_contract.webhook import SECRET_HEADER, WEBHOOK_PATH
from botapi_emulator.config import EmulatorConfig, FloodConfig
from tests.bot.emulator import RecordingEmulator
from tests.support.ports import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

SECRET = "test-secret-0123456789"  # noqa: S105 (a test value)
TOKEN = "123456:TEST-token_abcdefghijklmnop"  # noqa: S105 (a test value)


def make_settings(database_url: str, api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "token": TOKEN,
        "webhook_secret": SECRET,
        "database_url": database_url,
        "api_base_url": api_url,
        # The limits stay at their defaults (on), as users run the bot.
        "db_pool_timeout_s": 2,
        "api_timeout_s": 5,
        "retry_after_s": 1,
    }
    values.update(overrides)
    return Settings(**values)


async def apply_migrations(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await migrate(conn)


@pytest.fixture
async def db(database_url: str) -> str:
    """A fresh database with the bot's schema."""
    await apply_migrations(database_url)
    return database_url


@pytest.fixture
async def stub() -> AsyncIterator[RecordingEmulator]:
    """The Bot API emulator (in-process, free port), recording each call for assertions."""
    # Flood control off unless a test turns it on: most tests send several messages to one
    # chat faster than Telegram allows, with the bot's own limiter off to keep them quick.
    api = await RecordingEmulator(EmulatorConfig(flood=FloodConfig(enabled=False))).start()
    yield api
    await api.stop()


@dataclass
class LiveBot:
    url: str
    state: BotState
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def post(
        self, session: aiohttp.ClientSession, update: Any, *, secret: str | None = SECRET
    ) -> aiohttp.ClientResponse:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        data = update if isinstance(update, bytes) else None
        async with session.post(
            self.url + WEBHOOK_PATH,
            json=None if data is not None else update,
            data=data,
            headers=headers,
        ) as resp:
            await resp.read()
            return resp

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 30)


async def start_bot(settings: Settings) -> LiveBot:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_config=None,
        access_log=False,
        http="httptools",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if not server.started:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        raise RuntimeError("bot did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveBot(f"http://127.0.0.1:{port}", app.state.bot, server, task)


@pytest.fixture
async def bot_factory(db: str, stub: RecordingEmulator) -> AsyncIterator[Callable[..., Any]]:
    """Start in-process bots on free ports (stopped at teardown)."""
    started: list[LiveBot] = []

    async def factory(**overrides: Any) -> LiveBot:
        bot = await start_bot(make_settings(db, stub.url, **overrides))
        started.append(bot)
        return bot

    yield factory
    for bot in started:
        if not bot.task.done():
            await bot.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def subprocess_env(database_url: str, api_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "PROMETHEUS_"))}
    env.update(
        {
            "BOT_ENV": "test",
            "BOT_TOKEN": TOKEN,
            "BOT_WEBHOOK_SECRET": SECRET,
            "DATABASE_URL": database_url,
            "BOT_API_BASE_URL": api_url,
            "BOT_PORT": str(port),
        }
    )
    env.update(extra)
    return env


async def scalar(url: str, sql: str, *params: Any) -> Any:
    """One value from the database (async, so an in-process bot keeps serving meanwhile)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(sql, params or None)
        row = await cur.fetchone()
        return row[0] if row else None


async def outbox_settled(url: str, timeout_s: float = 20) -> int:
    """Wait until no outbox row is open (pending, leased, sending); the rows done."""
    for _ in range(int(timeout_s / 0.05)):
        open_rows = await scalar(
            url, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'leased', 'sending')"
        )
        if open_rows == 0:
            break
        await asyncio.sleep(0.05)
    return int(await scalar(url, "SELECT count(*) FROM outbox WHERE done_at IS NOT NULL"))


@dataclass
class BotProcess:
    proc: Any
    url: str
    log: Any


@pytest.fixture
async def spawn_bot(
    db: str, stub: RecordingEmulator, tmp_path: Any
) -> AsyncIterator[Callable[..., Any]]:
    """Start ``python -m bot serve`` subprocesses (own process group, killed at teardown)."""
    import signal
    import sys

    procs: list[Any] = []

    async def spawn(*args: str, **env: str) -> BotProcess:
        port = free_port()
        log = tmp_path / f"bot-{port}.log"
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "serve",
                *args,
                env=subprocess_env(db, stub.url, port, **env),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as client:
            for _ in range(300):
                if proc.returncode is not None:
                    break
                try:
                    async with client.get(url + "/readyz") as resp:
                        if resp.status == 200:
                            return BotProcess(proc, url, log)
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"bot did not become ready:\n{log.read_text()[-3000:]}")

    yield spawn
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
