"""A lean keep-alive HTTP/1.1 client for the hot path (one JSON POST per reply).

Hand-written because the maintained clients measurably cost more on the bot's hot path.
``uv run --no-sync python bot/bench/bench_http.py`` (20,000 ``sendMessage`` POSTs, 40 at a
time, uvloop, to a local nginx; 2026-11-28 on the shared 2-core machine, load average 3.2):
this pool 15.2 CPU µs per call, aiohttp 3.14 with a keep-alive ``TCPConnector`` sized to the
concurrency 60.4 µs (4.0x), httpx 0.28 (PTB's default transport) 1670 µs (110x: its pool
bookkeeping). With about 400 µs of CPU per update, aiohttp would add ~11 %.

This pool keeps up to ``limit`` connections open, reuses idle ones LIFO, and parses responses
with httptools (uvicorn's parser). It speaks only what the Bot API needs: POST, a body with
Content-Length, and answers with a body. PTB's own calls (getFile, downloads, setWebhook) keep
using aiohttp (:class:`bot.botapi.PTBRequest`), where features matter more than microseconds.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httptools

#: Idle connections older than this are closed instead of reused: servers close idle
#: keep-alive connections after a while (nginx 75 s, aiohttp 75 s), and a request sent on a
#: connection the server is closing would fail.
MAX_IDLE_S = 15.0


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; at most one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes, dict[bytes, bytes]]] | None = None
        self.body: list[bytes] = []
        self.headers: dict[bytes, bytes] = {}
        self.reusable = True
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        self.reusable = False
        self._fail(ConnectionError("connection closed before the answer"))

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.close()
            self._fail(ConnectionError(f"malformed answer: {exc}"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if not self.parser.should_keep_alive():
            self.reusable = False
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), b"".join(self.body), self.headers))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes, dict[bytes, bytes]]]:
        """Write one request; the future resolves with (status, body, headers)."""
        assert self.transport is not None  # noqa: S101 (set by connection_made)
        self.body, self.headers = [], {}
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        """Close the socket (the pool never reuses a closed connection)."""
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class HttpPool:
    """Keep-alive connections to one origin, at most ``limit`` requests at a time."""

    def __init__(self, base_url: str, *, limit: int, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the Bot API base URL must be http(s)://host[:port][/path]")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if parts.scheme == "https" else None
        )
        self._prefix = parts.path.rstrip("/")
        self._host_header = parts.netloc.encode()
        self._timeout_s = timeout_s
        self._limit = limit
        self._idle: collections.deque[_Connection] = collections.deque()
        self._semaphore: asyncio.Semaphore | None = None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(
            _Connection,
            self._host,
            self._port,
            ssl=self._ssl,
            server_hostname=None if self._ssl is None else self._host,
        )
        return conn

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # LIFO: the warmest connection first
            if conn.reusable and now - conn.idle_since < MAX_IDLE_S:
                return conn
            conn.close()
        return None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes, dict[bytes, bytes]]:
        """POST a JSON ``body`` to ``<base path><path>``; returns (status, body, headers).

        Raises:
            ConnectionError, OSError: the connection failed or closed before the answer.
            TimeoutError: no complete answer within the timeout.
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._limit)
        head = (
            f"POST {self._prefix}{path} HTTP/1.1\r\nHost: ".encode()
            + self._host_header
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        async with self._semaphore:
            async with asyncio.timeout(self._timeout_s):
                conn = self._take_idle() or await self._connect()
                try:
                    answer = await conn.send(head + body)
                except BaseException:
                    conn.close()
                    raise
            if conn.reusable:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return answer

    async def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()

    def stats(self) -> dict[str, Any]:
        """Idle connection count (for tests and debugging)."""
        return {"idle": len(self._idle)}
