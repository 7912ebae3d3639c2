"""A minimal recording Bot API stub for the bot's tests (bound to 127.0.0.1, port 0).

It answers the methods the bot uses, records every call with the time it arrived, and can be
told to answer 429, 500, or to hang, so tests can drive the bot's error paths.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class StubBotApi:
    calls: list[Call] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    hang: asyncio.Event | None = None  # while set, sendMessage never answers
    received: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    webhook: dict[str, Any] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _runner: web.AppRunner | None = None

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def start(self) -> StubBotApi:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _file(self, request: web.Request) -> web.Response:
        self.calls.append(Call("file", {"path": request.match_info["path"]}, time.monotonic()))
        return web.Response(body=JPEG)

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = orjson.loads(await request.read())
        else:
            params = dict(await request.post())
        self.calls.append(Call(method, params, time.monotonic()))
        self.received.set()
        if method == "sendMessage" and self.hang is not None:
            await self.hang.wait()
        if self.fail_next and method != "getMe":
            status, body = self.fail_next.pop(0)
            headers = {}
            if status == 429:
                headers["Retry-After"] = str(body["parameters"]["retry_after"])
            return web.json_response(body, status=status, headers=headers)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": 123456,
                "is_bot": True,
                "first_name": "tgscale",
                "username": "tgscale_bot",
            }
        if method in ("sendMessage", "sendPhoto"):
            chat_id = int(params["chat_id"])
            return {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "text": params.get("text", ""),
            }
        if method == "getFile":
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u1",
                "file_size": len(JPEG),
                "file_path": f"photos/{params['file_id']}.jpg",
            }
        if method == "setWebhook":
            self.webhook = {
                "url": params["url"],
                "max_connections": int(params.get("max_connections", 40)),
            }
        if method == "getWebhookInfo":
            return {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": 0,
                **self.webhook,
            }
        return True


def too_many_requests(retry_after: int) -> tuple[int, dict[str, Any]]:
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
