"""The real Bot API emulator (``botapi_emulator``), in-process on 127.0.0.1:<free port>,
behind a thin ASGI recorder so tests can also see each call's parameters and arrival time.

The emulator supplies the Bot API's behaviour (results, validation, flood control with 429s,
injected 5xx and latency, the reply record); the recorder only watches.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

from botapi_emulator.app import create_app
from botapi_emulator.config import EmulatorConfig, FaultConfig, FloodConfig, MethodFaults
from botapi_emulator.control import EmulatorClient, ReplyCheck


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class RecordingEmulator:
    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    calls: list[Call] = field(default_factory=list)
    received: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    port: int = 0  # 0: a free port
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_sent(
        self, count: int, method: str = "sendMessage", timeout_s: float = 20
    ) -> list[Call]:
        """The calls of ``method`` once there are at least ``count`` (the sender is async)."""
        for _ in range(int(timeout_s / 0.02)):
            if len(self.sent(method)) >= count:
                break
            await asyncio.sleep(0.02)
        return self.sent(method)

    @property
    def state(self) -> Any:
        return self._app.state.emulator

    def set_faults(self, method: str = "sendMessage", **faults: float) -> None:
        code = int(faults.pop("error_code", 500))
        self.state.set_faults(
            FaultConfig(methods={method.lower(): MethodFaults(**faults)}, error_code=code)
        )

    async def check_replies(
        self,
        messages: list[tuple[int, int]],
        callback_queries: list[str] = (),  # type: ignore[assignment]
    ) -> ReplyCheck:
        """The emulator's own record: which messages got no reply, which queries no answer."""
        client = EmulatorClient(self.url)
        return await asyncio.to_thread(client.check_replies, messages, callback_queries)

    def clear_faults(self) -> None:
        self.state.set_faults(FaultConfig())

    def set_flood(self, **limits: Any) -> None:
        self.state.set_flood(FloodConfig(**limits))

    async def start(self) -> RecordingEmulator:
        self._app = create_app(self.config)
        config = uvicorn.Config(
            self._record, host="127.0.0.1", port=self.port, lifespan="on", log_config=None,
            access_log=False, timeout_graceful_shutdown=1, interface="asgi3",
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 30)

    async def _record(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith(("/bot", "/file/bot"))):
            await self._app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if path.startswith("/file/"):
            method, params = "file", {"path": path.split("/", 3)[3]}
        else:
            method = path.rsplit("/", 1)[1]
            headers = dict(scope["headers"])
            if headers.get(b"content-type", b"").startswith(b"application/json"):
                params = orjson.loads(body) if body else {}
            else:
                params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        self.calls.append(Call(method, params, time.monotonic()))
        if method == "sendMessage":
            self.received.set()
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)
