"""The reply record behind ``/__emulator/check-replies``: what it remembers and for how long."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botapi_emulator import EmulatorConfig, FloodConfig
from botapi_emulator.records import BoundedSet, ReplyRecord, message_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.botapi_emulator.support import Emulator


def test_check_replies_reports_exactly_the_missing_ones(emulator: Emulator) -> None:
    for chat, message_id in [(1, 10), (-100200, 11), (3, 12)]:
        emulator.call(
            "sendMessage", chat_id=chat, text="r", reply_parameters={"message_id": message_id}
        )
    emulator.call("answerCallbackQuery", callback_query_id="111")
    answer = emulator.client.post(
        "/__emulator/check-replies",
        json={
            "messages": [[1, 10], [-100200, 11], [3, 12], [3, 13], [1, 11]],
            "callback_queries": ["111", "222"],
        },
    ).json()
    assert answer["missing_messages"] == [[3, 13], [1, 11]]
    assert answer["missing_callback_queries"] == ["222"]
    assert answer["checked"] == 7
    assert answer["evicted_messages"] == 0


def test_reply_in_another_chat_counts_for_that_chat(emulator: Emulator) -> None:
    emulator.call(
        "sendMessage", chat_id=5, text="r", reply_parameters={"message_id": 9, "chat_id": 6}
    )
    answer = emulator.client.post(
        "/__emulator/check-replies", json={"messages": [[6, 9], [5, 9]]}
    ).json()
    assert answer["missing_messages"] == [[5, 9]]


def test_reset_forgets_replies_and_counters(emulator: Emulator) -> None:
    emulator.call("sendMessage", chat_id=1, text="r", reply_parameters={"message_id": 10})
    emulator.call("sendMessage", chat_id=1, text="r", reply_parameters={"message_id": 10})
    stats = emulator.client.get("/__emulator/stats").json()
    assert stats["replies"]["duplicate_messages"] == 1
    assert stats["requests"]["total"] == 2
    assert emulator.client.post("/__emulator/reset").json() == {"ok": True}
    stats = emulator.client.get("/__emulator/stats").json()
    assert stats["requests"]["total"] == 0
    assert stats["messages_sent"] == 0
    assert stats["replies"]["messages"] == 0
    missing = emulator.client.post("/__emulator/check-replies", json={"messages": [[1, 10]]})
    assert missing.json()["missing_messages"] == [[1, 10]]


def test_record_is_bounded_and_counts_evictions(start_emulator: Callable[..., Emulator]) -> None:
    emulator = start_emulator(EmulatorConfig(flood=FloodConfig(enabled=False), max_recorded=8))
    for message_id in range(1, 31):
        emulator.call(
            "sendMessage", chat_id=1, text="r", reply_parameters={"message_id": message_id}
        )
    answer = emulator.client.post(
        "/__emulator/check-replies", json={"messages": [[1, 1], [1, 30]]}
    ).json()
    assert answer["missing_messages"] == [[1, 1]]
    assert answer["evicted_messages"] > 0
    assert len(emulator.state.record.messages) <= 10


def test_bounded_set_keeps_the_newest() -> None:
    keys = BoundedSet(capacity=100)
    for key in range(1000):
        keys.add(key)
    assert len(keys) <= 125
    assert 999 in keys
    assert 0 not in keys
    assert keys.evicted == 1000 - len(keys)


def test_message_keys_are_unique_per_chat_and_message() -> None:
    pairs = [(1, 2), (2, 1), (-1, 2), (-100123, 2), (1, 2**31 - 1), (0, 5)]
    assert len({message_key(c, m) for c, m in pairs}) == len(pairs)
    record = ReplyRecord(10)
    record.reply("@channel", 3)
    assert record.missing([("@channel", 3), ("@channel", 4)], []) == ([("@channel", 4)], [])
