"""Helpers for the emulator tests: a uvicorn server in a thread, a manual clock, an HTTP client."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from botapi_emulator.state import EmulatorState

TOKEN = "123456:TEST-token_for_the_emulator"  # noqa: S105 (a fake token for a local emulator)
REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = Path(
    os.environ.get(
        "TGSCALE_BOT_API_SPEC", REPO_ROOT.parent / "shared" / "bot-api-spec" / "api.json"
    )
)


class ManualClock:
    """A monotonic clock that only moves when a test says so (flood control without sleeps)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Emulator:
    """A running emulator: its root URL, its in-process state and an HTTP client."""

    url: str
    state: EmulatorState
    client: httpx.Client

    def api(self, method: str, *, token: str = TOKEN, **kwargs: Any) -> httpx.Response:
        """POST (or GET with ``params=``) a Bot API call."""
        if "params" in kwargs and not any(k in kwargs for k in ("json", "data", "files")):
            return self.client.get(f"/bot{token}/{method}", **kwargs)
        return self.client.post(f"/bot{token}/{method}", **kwargs)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """A JSON-body call; the decoded envelope."""
        body: dict[str, Any] = self.api(method, json=params).json()
        return body


class EmulatorServer:
    """The emulator app served by uvicorn in a thread, on a socket bound to port 0."""

    def __init__(self, app: Starlette, *, lifespan: str = "off") -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        server_config = uvicorn.Config(
            self.app, log_level="warning", lifespan=lifespan, ws="none", access_log=False
        )
        self.server = uvicorn.Server(server_config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()
