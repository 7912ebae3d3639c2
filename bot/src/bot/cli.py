"""Command line: ``serve``, ``send``, ``migrate`` and ``set-webhook`` (settings from the env).

Exit codes: 0 success, 1 failure (database or Bot API), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from typing import TYPE_CHECKING

import orjson
from pydantic import ValidationError

from bot.logs import configure_logging
from bot.settings import Settings
from bot_contract.webhook import MAX_CONNECTIONS_DEFAULT, MAX_CONNECTIONS_MAX, MAX_CONNECTIONS_MIN

if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg

#: How long ``migrate`` keeps retrying the connection: a Job started next to a new database
#: (CloudNativePG still initialising, PgBouncer up before PostgreSQL) must wait, not fail.
MIGRATE_WAIT_S = 180.0
#: Its backoff: the first pause, doubled per attempt up to the cap.
MIGRATE_BACKOFF_S = (1.0, 15.0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the webhook (uvicorn, uvloop, httptools)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes on one port (default 1)"
    )
    sub.add_parser(
        "send", help="only the outbox sender, with /healthz, /readyz and /metrics on BOT_PORT"
    )
    mig = sub.add_parser("migrate", help="apply pending SQL migrations (safe to run concurrently)")
    mig.add_argument(
        "--wait-s",
        type=float,
        default=MIGRATE_WAIT_S,
        help=f"retry connecting this long while the database starts (default {MIGRATE_WAIT_S:g})",
    )
    hook = sub.add_parser("set-webhook", help="point Telegram at URL with our secret")
    hook.add_argument("--url", required=True, help="the public HTTPS URL of the webhook route")
    hook.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS_DEFAULT,
        help=f"{MAX_CONNECTIONS_MIN}-{MAX_CONNECTIONS_MAX} (default {MAX_CONNECTIONS_DEFAULT})",
    )
    hook.add_argument(
        "--allowed-updates",
        default=None,
        help="comma-separated update types (default: keep Telegram's current setting)",
    )
    hook.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="discard the backlog Telegram holds (never in routine deploys)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = _parser().parse_args(argv)
    # Opt in to PTB's future RetryAfter.retry_after type (a timedelta) instead of its warning.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)  # noqa: T201 (CLI output)
        return 2
    secrets = [settings.token.get_secret_value(), *(s.decode() for s in settings.secrets())]
    configure_logging(settings.log_level, secrets)
    if args.command == "serve":
        return serve(settings, args.workers)
    if args.command == "send":
        return serve(settings, 1, factory="bot.web:send_app")
    if args.command == "migrate":
        return asyncio.run(migrate(settings, wait_s=args.wait_s))
    if not MAX_CONNECTIONS_MIN <= args.max_connections <= MAX_CONNECTIONS_MAX:
        print("--max-connections must be within 1-100", file=sys.stderr)  # noqa: T201
        return 2
    allowed = [a.strip() for a in args.allowed_updates.split(",")] if args.allowed_updates else None
    return asyncio.run(
        set_webhook(settings, args.url, args.max_connections, allowed, args.drop_pending_updates)
    )


def serve(settings: Settings, workers: int, factory: str = "bot.web:serve_app") -> int:
    """Serve on ``BOT_HOST:BOT_PORT`` with ``workers`` processes (multiprocess metrics if > 1)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from bot.metrics import MULTIPROC_ENV
    from bot.pool_budget import check_pool_budget

    if workers < 1:
        print("--workers must be at least 1", file=sys.stderr)  # noqa: T201
        return 2
    if not check_pool_budget(settings, workers):
        return 2
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Must be set before the workers import prometheus_client: they inherit it.
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="tgbot-metrics-")
    config = uvicorn.Config(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        backlog=2048,
        timeout_keep_alive=75,  # Telegram reuses webhook connections
        # Nothing reads the client's address (the secret header authenticates Telegram), so
        # uvicorn's X-Forwarded-* middleware would only cost CPU on every delivery.
        proxy_headers=False,
        server_header=False,  # no "server: uvicorn" (version disclosure) on every answer
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
    return 0


async def migrate(settings: Settings, *, wait_s: float = MIGRATE_WAIT_S) -> int:
    """Apply pending migrations and print what was applied.

    Connecting is retried with a bounded exponential backoff for ``wait_s`` seconds; a failure
    after the connection was made is not retried (the migrations are transactional).
    """
    from bot.repo import migrate as apply

    conn = await _connect_with_retry(settings, wait_s)
    if conn is None:
        return 1
    async with conn:
        applied = await apply(conn)
    print(f"migrate: applied {len(applied)}: {', '.join(applied) or 'up to date'}")  # noqa: T201
    return 0


async def _connect_with_retry(
    settings: Settings, wait_s: float
) -> psycopg.AsyncConnection[tuple[object, ...]] | None:
    """A connection, or None (reported) once ``wait_s`` has passed without one."""
    import psycopg

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    pause, cap = MIGRATE_BACKOFF_S
    attempts = 0
    while True:
        attempts += 1
        try:
            # No server-side prepared statements: the Job goes through PgBouncer (transaction mode).
            return await psycopg.AsyncConnection.connect(
                settings.database_url.get_secret_value(), autocommit=True, prepare_threshold=None
            )
        except psycopg.OperationalError as exc:
            left = deadline - loop.time()
            if left <= 0:
                print(  # noqa: T201 (CLI output; the error type only, never the URL)
                    f"migrate: database unreachable after {attempts} attempts "
                    f"({wait_s:g} s): {type(exc).__name__}",
                    file=sys.stderr,
                )
                return None
            print(f"migrate: database not reachable yet (attempt {attempts})", file=sys.stderr)  # noqa: T201
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, cap)


async def set_webhook(
    settings: Settings,
    url: str,
    max_connections: int,
    allowed_updates: list[str] | None,
    drop_pending_updates: bool,
) -> int:
    """Call setWebhook once with the first secret of ``BOT_WEBHOOK_SECRET``, then print the info."""
    from telegram import Bot
    from telegram.error import TelegramError

    from bot.botapi import BotApi, PTBRequest
    from bot.metrics import Metrics

    api = BotApi(
        settings.api_base_url, settings.token, timeout_s=settings.api_timeout_s, connections=2,
        metrics=Metrics(),
    )  # fmt: skip
    request = PTBRequest(api)
    bot = Bot(
        settings.token.get_secret_value(),
        base_url=f"{settings.api_base_url}/bot",
        base_file_url=f"{settings.api_base_url}/file/bot",
        request=request,
        get_updates_request=request,
    )
    try:
        await bot.set_webhook(
            url=url,
            secret_token=settings.webhook_secret[0].get_secret_value(),
            max_connections=max_connections,
            allowed_updates=allowed_updates,
            drop_pending_updates=drop_pending_updates,
        )
        info = await bot.get_webhook_info()
    except TelegramError as exc:
        print(f"set-webhook failed: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        await api.close()
        _forget_live_gauges()
    fields = {
        "url": info.url,
        "max_connections": info.max_connections,
        "allowed_updates": list(info.allowed_updates or ()),
        "pending_update_count": info.pending_update_count,
        "dropped_pending_updates": drop_pending_updates,
    }
    print(orjson.dumps(fields).decode())  # noqa: T201
    return 0


def _forget_live_gauges() -> None:
    """A one-shot command's gauges (``ready`` 0, the pool) must not outlive it.

    In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` shared with a server, e.g. in one
    container) its "live" gauge files would otherwise be merged into the server's metrics
    forever, and the merged readiness (the minimum over processes) would read 0.
    """
    from prometheus_client import multiprocess

    from bot.metrics import MULTIPROC_ENV

    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
