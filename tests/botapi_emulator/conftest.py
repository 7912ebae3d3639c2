"""Fixtures for the Bot API emulator: a real uvicorn server on an ephemeral port, a manual clock,
and the Bot API spec (``api.json``) that conformance tests read at run time."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from botapi_emulator import EmulatorConfig, FloodConfig, create_app
from tests.botapi_emulator.support import SPEC_PATH, Emulator, EmulatorServer, ManualClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators (each on its own ephemeral port); all are stopped after the test."""
    servers: list[EmulatorServer] = []
    clients: list[httpx.Client] = []

    def start(
        config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> Emulator:
        server = EmulatorServer(create_app(config, clock=clock))
        servers.append(server)
        server.start()
        url = f"http://127.0.0.1:{server.port}"
        client = httpx.Client(base_url=url, timeout=30)
        clients.append(client)
        return Emulator(url, server.app.state.emulator, client)

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(start_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator with the default configuration but no flood control."""
    return start_emulator(EmulatorConfig(flood=FloodConfig(enabled=False)))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """The Bot API 10.1 spec (PaulSonOfLars/telegram-bot-api-spec), read from the shared folder."""
    if not SPEC_PATH.is_file():
        pytest.skip(
            f"Bot API spec not found at {SPEC_PATH}; set TGSCALE_BOT_API_SPEC to its api.json"
        )
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return data
