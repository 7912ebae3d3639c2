"""Methods in 2xx webhook answers are run against the real Bot API emulator, as Telegram does."""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

import gevent
import pytest

from loadtest.delivery import BodyReplies, executes
from loadtest.tally import Tally
from tests.loadtest.conftest import emulator_process, locust_command, run

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from recorder import Recorder

TOKEN = "123456:TEST-token"  # noqa: S105 (the emulator accepts any well-formed token)


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (127.0.0.1)
        return json.loads(answer.read())


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (127.0.0.1)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        return json.loads(answer.read())


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with emulator_process("--no-flood-control") as url:
        yield url


@pytest.fixture
def fresh(emulator: str) -> str:
    _post(f"{emulator}/__emulator/reset", {})
    return emulator


def _methods(emulator: str) -> dict[str, dict[str, int]]:
    return _get(f"{emulator}/__emulator/stats")["requests"]["by_method"]


def _missing(emulator: str, messages: list[list[int]], callbacks: list[str]) -> dict[str, Any]:
    return _post(
        f"{emulator}/__emulator/check-replies",
        {"messages": messages, "callback_queries": callbacks},
    )


def _settle(tally: Tally, expected: int) -> None:
    for _ in range(200):  # bounded: up to ~10 s on a busy machine
        if sum(tally.body_replies.values()) >= expected:
            return
        gevent.sleep(0.05)


def test_skipped_methods_are_those_telegram_skips() -> None:
    for method in ("getMe", "getWebhookInfo", "getUpdates", "setWebhook", "deleteWebhook"):
        assert not executes(method), method
    for method in ("close", "logOut", "LOGOUT"):
        assert not executes(method), method
    for method in ("sendMessage", "answerCallbackQuery", "sendPhoto", "editMessageText"):
        assert executes(method), method


def test_body_methods_are_executed_and_skipped_ones_are_not(fresh: str) -> None:
    tally = Tally()
    replies = BodyReplies(fresh, TOKEN, tally, concurrency=2)
    replies.submit(
        json.dumps(
            {
                "method": "sendMessage",
                "chat_id": 4242,
                "text": "noted",
                "reply_parameters": {"message_id": 7},
            }
        ).encode()
    )
    replies.submit(b'{"method": "answerCallbackQuery", "callback_query_id": "cq-1"}')
    replies.submit(b'{"method": "setWebhook", "url": "http://127.0.0.1:1/hook"}')
    replies.submit(b'{"method": "getMe"}')
    replies.submit(b'{"method": "logOut"}')
    replies.submit(b"{}")  # a 2xx answer without a method: nothing to run
    replies.submit(b'{"method": "sendMessage", "text": "no chat"}')  # the emulator refuses it
    _settle(tally, 7)
    assert tally.body_replies == {"executed": 2, "skipped": 3, "ignored": 1, "failed": 1}
    check = _missing(fresh, [[4242, 7], [4242, 8]], ["cq-1"])
    assert check["missing_messages"] == [[4242, 8]]  # 8 was never replied to: the check can fail
    assert check["missing_callback_queries"] == []
    methods = {name.lower() for name in _methods(fresh)}
    assert "setwebhook" not in methods
    assert "getme" not in methods
    assert "logout" not in methods


def test_a_full_backlog_drops_instead_of_blocking(fresh: str) -> None:
    tally = Tally()
    replies = BodyReplies(fresh, TOKEN, tally, concurrency=1, backlog=1)
    body = b'{"method": "answerCallbackQuery", "callback_query_id": "cq-x"}'
    for _ in range(5):  # no yield in between: the one executor has not taken any yet
        replies.submit(body)
    assert tally.body_replies["dropped"] == 4
    _settle(tally, 5)
    assert tally.body_replies["executed"] == 1


def _answer_with_a_method(update: dict[str, Any]) -> bytes:
    """As a bot in webhook mode: the reply in the answer; a skipped method for the rest."""
    if "message" in update:
        message = update["message"]
        reply = {
            "method": "sendMessage",
            "chat_id": message["chat"]["id"],
            "text": "noted",
            "reply_parameters": {"message_id": message["message_id"]},
        }
    elif "callback_query" in update:
        reply = {
            "method": "answerCallbackQuery",
            "callback_query_id": update["callback_query"]["id"],
        }
    else:
        reply = {"method": "setWebhook", "url": "http://127.0.0.1:1/hook"}
    return json.dumps(reply).encode()


def _gated_run(url: str, emulator: str, folder: Path, model: str) -> tuple[int, dict[str, Any]]:
    result = run(
        locust_command(
            url,
            "--load-profile", "steady", "--model", model, "--shape-duration", "4",
            "--rate-scale", "0.5", "--drain-s", "5",
            "--emulator-url", emulator, "--check-replies", "on", "--report-dir", str(folder),
        ),
        env={"LOCUST_BOT_TOKEN": TOKEN},
    )  # fmt: skip
    summary = json.loads((folder / "summary.json").read_text())
    return result.code, summary


@pytest.mark.parametrize("model", ["telegram", "open"])
def test_replies_in_webhook_answers_reach_the_emulator_and_pass_the_gate(
    recorder: tuple[Recorder, str], fresh: str, tmp_path: Path, model: str
) -> None:
    rec, url = recorder
    rec.body = _answer_with_a_method
    code, summary = _gated_run(url, fresh, tmp_path, model)
    gate = next(g for g in summary["gates"] if g["name"].startswith("every update needing a reply"))
    assert gate["verdict"] == "pass", gate
    assert code == 0, summary["gates"]
    acked = summary["acked_by_type"]
    needing = sum(acked.get(kind, 0) for kind in ("text", "command", "photo", "callback_query"))
    assert needing > 0
    body_replies = summary["totals"]["body_replies"]
    assert body_replies["executed"] == needing
    assert body_replies.get("skipped", 0) == sum(acked.values()) - needing
    assert body_replies.get("failed", 0) == 0
    assert "setwebhook" not in {name.lower() for name in _methods(fresh)}


def test_empty_answers_are_neither_parsed_nor_executed(
    recorder: tuple[Recorder, str], fresh: str, tmp_path: Path
) -> None:
    rec, url = recorder
    rec.body = lambda _update: b""  # the bot's api mode: an empty 200
    code, summary = _gated_run(url, fresh, tmp_path, "telegram")
    assert sum(summary["acked_by_type"].values()) > 0
    assert summary["totals"]["body_replies"] == {}  # nothing queued: no "ignored" either
    assert _methods(fresh) == {}
    gate = next(g for g in summary["gates"] if g["name"].startswith("every update needing a reply"))
    assert gate["verdict"] == "fail"  # nobody replied, and the gate sees it
    assert code == 3
