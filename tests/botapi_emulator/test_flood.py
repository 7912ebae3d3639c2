"""Flood control: Telegram's per-chat, per-group and global budgets answered with 429.

Time is a manual clock passed to the app, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from botapi_emulator import EmulatorConfig, FloodConfig
from botapi_emulator.flood import FloodControl, LeakyBuckets

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.botapi_emulator.support import Emulator, ManualClock


def _send(emulator: Emulator, chat_id: int | str, method: str = "sendMessage") -> int:
    params: dict[str, object] = {"chat_id": chat_id}
    params |= {"text": "x"} if method == "sendMessage" else {"photo": "photo-90"}
    return emulator.api(method, json=params).status_code


def test_per_chat_burst_then_one_per_second(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    emulator = start_emulator(EmulatorConfig(flood=FloodConfig(per_chat_burst=3)), clock=clock)
    assert [_send(emulator, 42) for _ in range(3)] == [200, 200, 200]
    refused = emulator.api("sendMessage", json={"chat_id": 42, "text": "x"})
    assert refused.status_code == 429
    assert refused.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert refused.headers["retry-after"] == "1"
    assert _send(emulator, 43) == 200  # another chat has its own budget
    assert _send(emulator, 42, "sendPhoto") == 429  # photos share the chat's budget
    clock.advance(1.0)
    assert _send(emulator, 42) == 200
    assert _send(emulator, 42) == 429


def test_refused_calls_spend_nothing(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    emulator = start_emulator(EmulatorConfig(flood=FloodConfig(per_chat_burst=1)), clock=clock)
    assert _send(emulator, 42) == 200
    assert [_send(emulator, 42) for _ in range(5)] == [429] * 5
    clock.advance(1.0)
    assert _send(emulator, 42) == 200


def test_group_budget_is_per_minute(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    config = EmulatorConfig(flood=FloodConfig(per_chat_rate=100, per_chat_burst=100))
    emulator = start_emulator(config, clock=clock)
    statuses = []
    for _ in range(21):
        statuses.append(_send(emulator, -100500))
        clock.advance(0.05)
    assert statuses == [200] * 20 + [429]
    refused = emulator.api("sendMessage", json={"chat_id": -100500, "text": "x"})
    # The bucket drains 20/min: one more message after about 3 s.
    assert refused.json()["parameters"]["retry_after"] == 2
    assert _send(emulator, 42) == 200  # a private chat is not a group
    assert _send(emulator, "@channel") == 200  # another group has its own budget
    clock.advance(3.0)
    assert _send(emulator, -100500) == 200
    assert emulator.state.stats()["rate_limited"]["by_scope"] == {"group": 2}


def test_global_budget_across_chats(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    emulator = start_emulator(EmulatorConfig(flood=FloodConfig(global_rate=30)), clock=clock)
    statuses = [_send(emulator, 1000 + i) for i in range(31)]
    assert statuses == [200] * 30 + [429]
    clock.advance(1 / 30)
    assert _send(emulator, 5000) == 200
    stats = emulator.client.get("/__emulator/stats").json()
    assert stats["rate_limited"] == {
        "total": 1,
        "by_scope": {"global": 1},
        "by_method": {"sendMessage": 1},
    }
    assert stats["requests"]["by_method"]["sendMessage"] == {"200": 31, "429": 1}


def test_paid_broadcast_has_its_own_budget(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    config = EmulatorConfig(flood=FloodConfig(global_rate=2, paid_broadcast_rate=5))
    emulator = start_emulator(config, clock=clock)
    assert [_send(emulator, 100 + i) for i in range(3)] == [200, 200, 429]
    paid = [
        emulator.api(
            "sendMessage", json={"chat_id": 200 + i, "text": "x", "allow_paid_broadcast": True}
        ).status_code
        for i in range(6)
    ]
    assert paid == [200] * 5 + [429]
    assert emulator.state.stats()["rate_limited"]["by_scope"] == {"global": 1, "paid": 1}


def test_flood_control_off(start_emulator: Callable[..., Emulator], clock: ManualClock) -> None:
    emulator = start_emulator(EmulatorConfig(flood=FloodConfig(enabled=False)), clock=clock)
    assert {_send(emulator, 42) for _ in range(50)} == {200}


def test_limits_can_be_changed_at_run_time(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    emulator = start_emulator(clock=clock)
    current = emulator.client.get("/__emulator/flood").json()
    assert current["per_chat_rate"] == 1.0
    assert current["group_per_minute"] == 20.0
    assert current["global_rate"] == 30.0
    changed = emulator.client.post("/__emulator/flood", json={"per_chat_burst": 1}).json()
    assert changed["per_chat_burst"] == 1
    assert [_send(emulator, 42) for _ in range(2)] == [200, 429]
    emulator.client.post("/__emulator/flood", json={"enabled": False})
    assert _send(emulator, 42) == 200


def test_only_sends_are_flood_limited(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    emulator = start_emulator(clock=clock)
    config = emulator.client.get("/__emulator/stats").json()["config"]
    assert config["flood_limited_methods"] == ["sendMessage", "sendPhoto"]


def test_edits_and_answers_are_not_flood_limited(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    emulator = start_emulator(EmulatorConfig(flood=FloodConfig(per_chat_burst=1)), clock=clock)
    assert _send(emulator, 42) == 200
    for _ in range(5):
        assert emulator.call("answerCallbackQuery", callback_query_id="q")["ok"]
        assert emulator.call("editMessageText", chat_id=42, message_id=1, text="y")["ok"]


@pytest.mark.parametrize(("rate", "burst"), [(5.0, 5), (1 / 3, 20), (30.0, 30), (7.0, 3)])
def test_a_full_burst_passes_despite_rounding(rate: float, burst: int) -> None:
    buckets = LeakyBuckets(rate, burst)
    for _ in range(burst):
        assert buckets.wait("k", now=0.0) == 0.0
        buckets.take("k", now=0.0)
    assert buckets.wait("k", now=0.0) > 0.0


def test_buckets_forget_drained_keys() -> None:
    buckets = LeakyBuckets(rate=1.0, burst=2)
    for key in range(10_000):
        buckets.take(key, now=float(key) / 1000)
    # Sweeps run as the table grows; only keys inside their window are kept.
    assert len(buckets) < 10_000
    buckets.sweep(now=100.0)
    assert len(buckets) == 0


def test_flood_control_tracks_only_recent_chats() -> None:
    control = FloodControl(FloodConfig(global_rate=1e9))
    for chat in range(20_000):
        assert control.admit_message(chat, now=chat * 0.01) is None
    assert control.tracked_keys < 10_000
