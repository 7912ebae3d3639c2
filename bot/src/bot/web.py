"""The ASGI app: the webhook route, health, readiness, metrics, lifespan and SIGTERM drain.

Order of checks on the webhook: secret (constant time, 401) → size (413) → draining or
in-flight cap (503 + Retry-After) → the pipeline, whose answer is sent only after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from prometheus_client import multiprocess
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import build_application
from bot.botapi import BotApi
from bot.failures import is_transient
from bot.metrics import MULTIPROC_ENV, Metrics
from bot.pipeline import Pipeline
from bot.repo import Repo, Retention
from bot.sender import Sender
from bot.settings import Settings
from bot_contract.metrics import Outcome
from bot_contract.webhook import HEALTHZ_PATH, METRICS_PATH, READYZ_PATH, SECRET_HEADER

if TYPE_CHECKING:
    from starlette.requests import Request

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SECRET_HEADER = SECRET_HEADER.lower().encode()
#: Returned by the body reader when the client disconnected mid-body.
_GONE = b"\x00gone"
#: Python's defaults (700, 10, 10) run a young-generation collection every few updates.
GC_THRESHOLDS = (5_000, 10, 10)


async def _respond(
    send: Send, status: int, retry_after: int | None = None, body: bytes | None = None
) -> None:
    headers = [(b"content-length", str(len(body)).encode() if body else b"0")]
    if body:
        headers.append((b"content-type", b"application/json"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body or b""})


class BotState:
    """Per-process state: the pipeline, the in-flight count and the draining flag."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.pipeline: Pipeline | None = None
        self.sender: Sender | None = None
        self.pool: AsyncConnectionPool[Any] | None = None
        self.api_ready = False  # getMe answered (PTB's application is initialized)
        self.in_flight = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._secrets = settings.secrets()
        metrics.in_flight_limit.set(settings.max_in_flight)

    def authorized(self, given: bytes | None) -> bool:
        """Constant-time check of the secret header against every accepted secret."""
        if given is None:
            return False
        ok = False
        for secret in self._secrets:  # no early exit: the time does not tell which one matched
            ok |= hmac.compare_digest(secret, given)
        return ok

    async def drain(self, delay_s: float, grace_s: float) -> bool:
        """Turn readiness off, pause for endpoints to update, wait for in-flight updates.

        Returns True when every in-flight update finished within ``grace_s``.
        """
        self.draining = True
        self.metrics.ready.set(0)
        log.info("draining: readiness off, %d updates in flight", self.in_flight)
        if delay_s:
            await asyncio.sleep(delay_s)
        try:
            async with asyncio.timeout(grace_s):
                await self._idle.wait()
        except TimeoutError:
            log.error("drain grace expired with %d updates in flight", self.in_flight)
            return False
        log.info("drained")
        return True

    def enter(self) -> None:
        """Count a delivery in."""
        self.in_flight += 1
        self._idle.clear()
        self.metrics.in_flight.inc()

    def leave(self) -> None:
        """Count a delivery out."""
        self.in_flight -= 1
        self.metrics.in_flight.dec()
        if self.in_flight == 0:
            self._idle.set()


class WebhookEndpoint:
    """``POST <BOT_WEBHOOK_PATH>`` as a bare ASGI app (no Request object on the hot path)."""

    def __init__(self, state: BotState) -> None:
        self.state = state
        self.max_body = state.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one delivery (see the module docstring for the order of checks)."""
        state = self.state
        secret = length = None
        for name, value in scope["headers"]:
            if name == _SECRET_HEADER:
                secret = value
            elif name == b"content-length":
                length = value
        if not state.authorized(secret):
            state.metrics.auth_rejected.inc()
            await _respond(send, 401)
            return
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _respond(send, 413)
            return
        if state.draining or state.pipeline is None or not state.api_ready:
            await _respond(send, 503, state.settings.retry_after_s)
            return
        if state.in_flight >= state.settings.max_in_flight:
            state.metrics.updates.labels("other", Outcome.SHED.value).inc()
            await _respond(send, 503, state.settings.retry_after_s)
            return
        state.enter()
        try:
            body = await self._read(receive)
            if body is None:
                await _respond(send, 413)
                return
            if body is _GONE:
                return  # the client left before sending the whole body: nothing to answer
            answer = await state.pipeline.handle(body)
            await _respond(send, answer.status, answer.retry_after, answer.body)
        finally:
            state.leave()

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _GONE
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


class BotApp:
    """The ASGI entry: the webhook path goes straight to its endpoint, the rest to Starlette.

    Skipping Starlette's router on the hot path saves a little CPU on every delivery.
    """

    def __init__(self, starlette: Starlette, webhook: WebhookEndpoint, path: str) -> None:
        self.starlette = starlette
        self.webhook = webhook
        self.path = path
        self.state = starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI event."""
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            await self.webhook(scope, receive, send)
            return
        await self.starlette(scope, receive, send)


def create_app(
    settings: Settings, *, handle_sigterm: bool = False, webhook_enabled: bool = True
) -> BotApp:
    """The bot's ASGI app for ``settings``.

    Args:
        settings: the configuration.
        handle_sigterm: install the SIGTERM drain (only in a server's main thread).
        webhook_enabled: False for ``python -m bot send`` (the sender, health and metrics only).
    """
    metrics = Metrics()
    state = BotState(settings, metrics)

    async def healthz(request: Request) -> Response:  # noqa: ARG001
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:  # noqa: ARG001
        if state.draining or state.pool is None:
            return JSONResponse({"status": "draining"}, status_code=503)
        try:
            async with state.pool.connection(timeout=2.0) as conn:
                await Repo(conn).ping()
        except Exception as exc:
            if not is_transient(exc):
                raise
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        if webhook_enabled and not state.api_ready:
            return JSONResponse({"status": "bot api unreachable (getMe)"}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:  # noqa: ARG001
        _pool_gauges(state)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:  # noqa: ARG001
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            settings.database_url.get_secret_value(),
            min_size=min(settings.db_pool_min, settings.pool_max),
            max_size=settings.pool_max,
            kwargs={"autocommit": True, "prepare_threshold": settings.db_prepare_threshold},
            open=False,
            name="bot",
        )
        await pool.open(wait=False)  # start even while the database is down: /readyz says so
        api = BotApi(
            settings.api_base_url,
            settings.token,
            timeout_s=settings.api_timeout_s,
            connections=settings.connections,
            metrics=metrics,
        )
        application = build_application(settings, api)
        state.pool = pool
        tasks = []
        if settings.sender:
            state.sender = Sender(settings, pool, api, metrics)
            tasks.append(asyncio.create_task(state.sender.run()))
        if webhook_enabled:
            on_commit = state.sender.wake if state.sender is not None else None
            pipeline = Pipeline(settings, pool, application, api, metrics, on_commit=on_commit)
            # PTB's initialize calls getMe. Start even while the Bot API is unreachable:
            # readiness and the webhook (503) say so until getMe answers.
            if not await _initialize(application, settings.api_timeout_s):
                tasks.append(asyncio.create_task(_initialize_forever(state, application)))
            state.api_ready = application._initialized
            state.pipeline = pipeline
            tasks.append(asyncio.create_task(_prune_forever(state)))
        metrics.ready.set(1)
        # Every update allocates many small PTB objects, and no cycles survive a request:
        # freeze what start-up built and collect less often (fewer, shorter GC pauses).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        tasks.append(asyncio.create_task(_every(1.0, lambda: _pool_gauges(state))))
        if handle_sigterm:
            _install_sigterm(state)
        log.info("bot ready on %s", settings.webhook_path)
        try:
            yield
        finally:
            state.draining = True
            metrics.ready.set(0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if application._initialized:
                await application.shutdown()
            await api.close()
            await pool.close()
            if os.environ.get(MULTIPROC_ENV):
                # Drop this worker's live gauges (in flight, pool, ready) from the merged view.
                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    webhook = WebhookEndpoint(state)
    routes = [
        Route(HEALTHZ_PATH, healthz),
        Route(READYZ_PATH, readyz),
        Route(METRICS_PATH, metrics_endpoint),
    ]
    if webhook_enabled:
        routes.insert(0, Route(settings.webhook_path, webhook, methods=["POST"]))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.bot = state
    return BotApp(app, webhook, settings.webhook_path if webhook_enabled else "")


def _pool_gauges(state: BotState) -> None:
    if state.pool is None:
        return
    stats = state.pool.get_stats()
    size = stats.get("pool_size", 0)
    state.metrics.pool_size.set(size)
    state.metrics.pool_in_use.set(size - stats.get("pool_available", 0))
    state.metrics.pool_waiting.set(stats.get("requests_waiting", 0))


async def _every(seconds: float, action: Callable[[], None]) -> None:
    while True:
        action()
        await asyncio.sleep(seconds)


async def _prune_forever(state: BotState) -> None:
    """Delete expired rows of every append-only table, batch by batch, now and then."""
    s = state.settings
    retention = Retention(
        dedupe_s=s.dedupe_retention_h * 3600,
        dead_letters_s=s.dead_letter_retention_h * 3600,
        conversations_s=s.conversation_ttl_h * 3600,
    )
    while True:
        await asyncio.sleep(s.prune_interval_s)
        if state.pool is None:
            continue
        try:
            async with state.pool.connection(timeout=5.0) as conn:
                deleted = await Repo(conn).prune(
                    retention, s.prune_batch, budget_s=s.prune_interval_s / 2
                )
            if any(deleted.values()):
                log.info("pruned %s", deleted)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("pruning failed; will retry")


async def _initialize(application: Any, timeout_s: float) -> bool:
    """PTB's ``initialize`` (getMe), once; False when the Bot API did not answer."""
    try:
        async with asyncio.timeout(timeout_s):
            await application.initialize()
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("Bot API unreachable at start-up (getMe): %s", type(exc).__name__)
        return False
    return True


async def _initialize_forever(state: BotState, application: Any) -> None:
    """Retry getMe with a growing pause until it answers; then the webhook opens."""
    pause = 1.0
    while not await _initialize(application, state.settings.api_timeout_s):
        await asyncio.sleep(pause)
        pause = min(pause * 2, 30.0)
    state.api_ready = True
    log.info("Bot API reachable: getMe answered")


def _install_sigterm(state: BotState) -> None:
    """On SIGTERM: drain first, then hand the signal to the server (uvicorn's handler).

    A second SIGTERM skips the drain.
    """
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    tasks: set[asyncio.Task[None]] = set()  # keeps the drain task referenced until it ends

    def hand_over(signum: int, frame: Any) -> None:
        if callable(previous):
            previous(signum, frame)

    async def drain_then_exit(signum: int) -> None:
        settings = state.settings
        await state.drain(settings.drain_delay_s, settings.shutdown_grace_s)
        hand_over(signum, None)

    def on_sigterm(signum: int, frame: Any) -> None:
        if state.draining:
            hand_over(signum, frame)
            return
        state.draining = True

        def start() -> None:
            task = loop.create_task(drain_then_exit(signum))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        loop.call_soon_threadsafe(start)

    signal.signal(signal.SIGTERM, on_sigterm)


def serve_app() -> BotApp:
    """The uvicorn factory used by ``python -m bot serve`` (settings from the environment)."""
    from bot.logs import configure_logging

    settings = Settings()
    secrets = [settings.token.get_secret_value(), *(s.decode() for s in settings.secrets())]
    configure_logging(settings.log_level, secrets)
    return create_app(settings, handle_sigterm=True)


def send_app() -> BotApp:
    """The uvicorn factory used by ``python -m bot send``: the sender without the webhook."""
    from bot.logs import configure_logging

    settings = Settings().model_copy(update={"sender": True})
    secrets = [settings.token.get_secret_value(), *(s.decode() for s in settings.secrets())]
    configure_logging(settings.log_level, secrets)
    return create_app(settings, handle_sigterm=True, webhook_enabled=False)
