"""The replies gate against the real Bot API emulator (``python -m botapi_emulator``)."""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING

import pytest

from loadtest import gates as g
from tests.loadtest.conftest import emulator_process

if TYPE_CHECKING:
    from collections.abc import Iterator

TOKEN = "123456:TEST-token"  # noqa: S105 (the emulator accepts any well-formed token)


def _call(url: str, method: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 (127.0.0.1)
        f"{url}/bot{TOKEN}/{method}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        return json.loads(answer.read())


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with emulator_process() as url:
        yield url


def test_reply_gate_passes_only_when_every_reply_was_sent(emulator) -> None:
    sent = _call(
        emulator,
        "sendMessage",
        {"chat_id": 4242, "text": "noted", "reply_parameters": {"message_id": 7}},
    )
    assert sent["ok"], sent
    answered = _call(emulator, "answerCallbackQuery", {"callback_query_id": "cq-1"})
    assert answered["ok"], answered
    assert g.reply_gate(emulator, [(4242, 7)], ["cq-1"]).verdict == "pass"
    missing = g.reply_gate(
        emulator, [(4242, 7), (4242, 8)], ["cq-1", "cq-2"], rechecks=1, recheck_wait_s=0.01
    )
    assert missing.verdict == "fail"
    assert missing.measured == 2
    assert "[4242, 8]" in missing.reason
    assert "cq-2" in missing.reason
