"""Garbage in, Telegram errors out: random parameter values never produce a 5xx or a traceback.

Runs in-process through httpx's ASGI transport, with a seeded random source (reproducible).
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

import httpx
import pytest

from botapi_emulator import METHODS, EmulatorConfig, FloodConfig, create_app

_TOKEN = "42:fuzz"  # noqa: S105 (fake)


def _value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(12 if depth < 2 else 8)
    simple: list[Any] = [
        "",
        " ",
        rng.choice(["true", "false", "1", "-0", "abc", "@", "@x", "attach://nope", "💥" * 3]),
        rng.randint(-(2**70), 2**70),
        rng.random() * 10 ** rng.randint(0, 20),
        rng.choice([True, False]),
        None,
        "x" * rng.choice([1, 255, 257, 4097]),
    ]
    if choice < len(simple):
        return simple[choice]
    if choice < 10:
        return {rng.choice(["message_id", "chat_id", "a", ""]): _value(rng, depth + 1)}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]


def _form_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)  # the stdlib: it writes integers past 64 bits
    return "" if value is None else str(value)


@pytest.mark.parametrize("seed", range(int(os.environ.get("EMULATOR_FUZZ_SEEDS", "4"))))
async def test_random_values_get_telegram_errors(seed: int) -> None:
    rng = random.Random(seed)
    app = create_app(EmulatorConfig(flood=FloodConfig(enabled=False)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    names = sorted(METHODS)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        for _ in range(300):
            method = rng.choice(names)
            params = {p.name: _value(rng) for p in METHODS[method].params if rng.random() < 0.6}
            if method == "getUpdates":
                params.pop("timeout", None)  # would hold the request (up to 50 s)
            url = f"/bot{_TOKEN}/{method}"
            if rng.random() < 0.5:
                headers = {"content-type": "application/json"}
                response = await client.post(url, content=json.dumps(params), headers=headers)
            else:
                form = {name: _form_value(value) for name, value in params.items()}
                response = await client.post(url, data=form)
            body = response.json()
            assert response.status_code in {200, 400, 409}, (method, params, body)
            assert body["ok"] is (response.status_code == 200)
            if not body["ok"]:
                assert body["error_code"] == response.status_code
                assert isinstance(body["description"], str)
