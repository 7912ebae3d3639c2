"""Fault injection: error ratios and latency, from the configuration and the control endpoint.

Latency is checked through the emulator's own accounting of the delay it added, never by timing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from botapi_emulator import EmulatorConfig, FaultConfig, FloodConfig, MethodFaults
from botapi_emulator.config import ERROR_DESCRIPTIONS

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.botapi_emulator.support import Emulator

_NO_FLOOD = FloodConfig(enabled=False)


def _statuses(emulator: Emulator, count: int) -> list[int]:
    return [
        emulator.api("sendMessage", json={"chat_id": 42, "text": "x"}).status_code
        for _ in range(count)
    ]


def test_error_ratio_one_fails_every_valid_call(start_emulator: Callable[..., Emulator]) -> None:
    faults = FaultConfig(default=MethodFaults(error_ratio=1.0), error_code=502)
    emulator = start_emulator(EmulatorConfig(flood=_NO_FLOOD, faults=faults))
    response = emulator.api("sendMessage", json={"chat_id": 42, "text": "x"})
    assert response.status_code == 502
    assert response.json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    # Invalid calls are still refused for what they are, before any injected fault.
    assert emulator.api("sendMessage", json={"chat_id": 42}).status_code == 400
    stats = emulator.client.get("/__emulator/stats").json()
    assert stats["injected_errors"] == {"total": 1, "by_method": {"sendMessage": 1}}
    assert stats["replies"]["messages"] == 0  # a failed send is not a reply


def test_per_method_ratio_leaves_other_methods_alone(
    start_emulator: Callable[..., Emulator],
) -> None:
    faults = FaultConfig(methods={"sendmessage": MethodFaults(error_ratio=1.0)})
    emulator = start_emulator(EmulatorConfig(flood=_NO_FLOOD, faults=faults))
    assert _statuses(emulator, 3) == [500] * 3
    assert emulator.call("answerCallbackQuery", callback_query_id="q")["ok"] is True


def test_seeded_ratio_is_reproducible(start_emulator: Callable[..., Emulator]) -> None:
    faults = FaultConfig(default=MethodFaults(error_ratio=0.5), seed=7)
    first = _statuses(start_emulator(EmulatorConfig(flood=_NO_FLOOD, faults=faults)), 60)
    second = _statuses(start_emulator(EmulatorConfig(flood=_NO_FLOOD, faults=faults)), 60)
    assert first == second
    assert set(first) == {200, 500}


def test_faults_can_be_replaced_at_run_time(emulator: Emulator) -> None:
    assert _statuses(emulator, 2) == [200, 200]
    answer = emulator.client.post(
        "/__emulator/faults",
        json={"error_code": 503, "methods": {"sendMessage": {"error_ratio": 1}}},
    ).json()
    assert answer["methods"] == {
        "sendmessage": {"latency_ms": 0.0, "jitter_ms": 0.0, "error_ratio": 1.0}
    }
    assert _statuses(emulator, 2) == [503, 503]
    emulator.client.post("/__emulator/faults", json={})
    assert _statuses(emulator, 1) == [200]


def test_latency_is_added_to_each_call(start_emulator: Callable[..., Emulator]) -> None:
    faults = FaultConfig(
        default=MethodFaults(latency_ms=2.0),
        methods={"getme": MethodFaults(latency_ms=5.0, jitter_ms=5.0)},
    )
    emulator = start_emulator(EmulatorConfig(flood=_NO_FLOOD, faults=faults))
    _statuses(emulator, 4)
    assert emulator.state.stats()["injected_latency_s"] == pytest.approx(0.008)
    for _ in range(3):
        emulator.call("getMe")
    added = emulator.state.stats()["injected_latency_s"] - 0.008
    assert 0.015 <= added <= 0.030


@pytest.mark.parametrize("code", sorted(ERROR_DESCRIPTIONS))
def test_error_codes_have_descriptions(code: int) -> None:
    assert FaultConfig(error_code=code).to_json()["error_code"] == code


def test_invalid_fault_values_are_refused() -> None:
    with pytest.raises(ValueError, match="error_ratio"):
        MethodFaults(error_ratio=1.5)
    with pytest.raises(ValueError, match="negative"):
        MethodFaults(latency_ms=-1)
    with pytest.raises(ValueError, match="error_code"):
        FaultConfig(error_code=418)
