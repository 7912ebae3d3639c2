"""Outgoing Bot API HTTP, two front doors sharing metrics.

:meth:`BotApi.call` is the lean path the pipeline uses for replies: JSON in, JSON out, no PTB
object building, on :class:`bot.httpclient.HttpPool` (keep-alive, sized to the in-flight cap).
:class:`PTBRequest` adapts an aiohttp session to PTB's ``BaseRequest`` for everything else
``Application.bot`` does (getMe, getFile, downloads, setWebhook).
The URL holds the token, so it is never logged; errors carry the method name only.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import aiohttp
import orjson
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.httpclient import HttpPool

if TYPE_CHECKING:
    from pydantic import SecretStr

    from bot.metrics import Metrics


class BotApiError(Exception):
    """A permanent Bot API error (4xx other than 429): retrying will not help."""

    def __init__(self, method: str, status: int, description: str) -> None:
        super().__init__(f"{method}: {status} {description}")
        self.status = status
        self.description = description


class TransientApiError(Exception):
    """No usable answer (network error, timeout, 5xx): worth a redelivery later."""


class RetryAfterError(TransientApiError):
    """A 429 Too Many Requests; ``retry_after`` seconds must pass before the next call."""

    def __init__(self, method: str, retry_after: float) -> None:
        super().__init__(f"{method}: 429, retry after {retry_after}s")
        self.retry_after = retry_after


class BotApi:
    """The process's Bot API client (``<root>/bot<token>/<method>``)."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        timeout_s: float,
        connections: int,
        metrics: Metrics,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._connections = connections
        self._metrics = metrics
        self._session: aiohttp.ClientSession | None = None
        self._fast = HttpPool(base_url, limit=connections, timeout_s=timeout_s)
        self._method_path = f"/bot{token.get_secret_value()}/"
        self.timeout_s = timeout_s

    @property
    def method_prefix(self) -> str:
        """``<root>/bot<token>/`` (secret: never log it)."""
        return f"{self.base_url}/bot{self._token.get_secret_value()}/"

    @property
    def file_prefix(self) -> str:
        """``<root>/file/bot<token>/`` (secret: never log it)."""
        return f"{self.base_url}/file/bot{self._token.get_secret_value()}/"

    def session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use inside the running loop."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._connections, keepalive_timeout=30, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                json_serialize=lambda o: orjson.dumps(o).decode(),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._fast.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _observe(self, method: str, status: str, started: float) -> None:
        self._metrics.api_requests.labels(method, status).inc()
        self._metrics.api_duration.labels(method).observe(time.perf_counter() - started)

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Call ``method`` with JSON ``params`` and return the ``result`` field.

        Raises:
            RetryAfterError: a 429; the caller must wait ``retry_after`` seconds.
            TransientApiError: no answer, a timeout or a 5xx.
            BotApiError: any other error answer (permanent).
        """
        started = time.perf_counter()
        try:
            status, body, headers = await self._fast.post(
                self._method_path + method, orjson.dumps(params)
            )
        except (OSError, TimeoutError) as exc:  # ConnectionError is an OSError
            self._observe(method, "error", started)
            raise TransientApiError(f"{method}: {type(exc).__name__}") from None
        self._observe(method, str(status), started)
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            answer = {}
        if status == 200 and answer.get("ok"):
            return answer.get("result")
        description = str(answer.get("description", ""))[:200]
        if status == 429:
            self._metrics.api_rate_limited.labels(method).inc()
            parameters = answer.get("parameters") or {}
            retry_after = parameters.get("retry_after") or headers.get(b"retry-after") or 1
            raise RetryAfterError(method, float(retry_after))
        if status >= 500 or status == 200:
            raise TransientApiError(f"{method}: {status} {description}")
        raise BotApiError(method, status, description)


class PTBRequest(BaseRequest):
    """PTB's transport on the :class:`BotApi` pool (used by ``Application.bot``)."""

    def __init__(self, api: BotApi) -> None:
        self._api = api

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB asks for it)."""
        return self._api.timeout_s

    async def initialize(self) -> None:
        """Nothing to do: the pool opens lazily."""

    async def shutdown(self) -> None:
        """The pool is closed by the web app's lifespan, not by PTB."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,  # noqa: ARG002 (one total timeout per session)
        write_timeout: Any = None,  # noqa: ARG002
        connect_timeout: Any = None,  # noqa: ARG002
        pool_timeout: Any = None,  # noqa: ARG002
    ) -> tuple[int, bytes]:
        """Send one request through the shared pool; errors become PTB's network errors."""
        # PTB percent-encodes a download URL's path (the token's ":" becomes "%3A").
        is_file = unquote(url).startswith(self._api.file_prefix)
        label = "file" if is_file else url.rsplit("/", 1)[-1]
        data: Any = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, value in request_data.multipart_data.items():
                    filename, content, mimetype = value
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                for name, text in request_data.json_parameters.items():
                    form.add_field(name, text)
                data = form
            else:
                data = request_data.json_parameters
        started = time.perf_counter()
        try:
            async with self._api.session().request(method, url, data=data) as resp:
                body = await resp.read()
                status = resp.status
        except TimeoutError:
            self._api._observe(label, "error", started)
            raise TimedOut(f"{label}: timed out") from None
        except aiohttp.ClientError as exc:
            self._api._observe(label, "error", started)
            raise NetworkError(f"{label}: {type(exc).__name__}") from None
        self._api._observe(label, str(status), started)
        if status == 429:
            self._api._metrics.api_rate_limited.labels(label).inc()
        return status, body
