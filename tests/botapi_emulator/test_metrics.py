"""``/metrics``: every ``tgemu_*`` series of the contract, counting what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from bot_contract.metrics import (
    EMULATOR_INJECTED_ERRORS,
    EMULATOR_METRICS,
    EMULATOR_RATE_LIMITED,
    EMULATOR_REQUESTS,
    series_names,
)
from botapi_emulator import EmulatorConfig, FaultConfig, FloodConfig, MethodFaults

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.botapi_emulator.support import Emulator, ManualClock


def _samples(emulator: Emulator) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = emulator.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_expose_the_contract_series(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    config = EmulatorConfig(
        flood=FloodConfig(per_chat_burst=1),
        faults=FaultConfig(methods={"getme": MethodFaults(error_ratio=1.0)}),
    )
    emulator = start_emulator(config, clock=clock)
    emulator.call("sendMessage", chat_id=1, text="x")
    emulator.call("sendMessage", chat_id=1, text="x")  # 429
    emulator.call("getMe")  # injected 500
    emulator.call("sendMessage", chat_id=1)  # 400
    samples = _samples(emulator)
    names = {name for name, _ in samples}
    for metric in EMULATOR_METRICS:
        assert set(series_names(metric)) <= names, metric.name
    requests = EMULATOR_REQUESTS.series
    assert samples[(requests, (("method", "sendMessage"), ("status", "200")))] == 1
    assert samples[(requests, (("method", "sendMessage"), ("status", "429")))] == 1
    assert samples[(requests, (("method", "sendMessage"), ("status", "400")))] == 1
    assert samples[(requests, (("method", "getMe"), ("status", "500")))] == 1
    limited = EMULATOR_RATE_LIMITED.series
    assert samples[(limited, (("method", "sendMessage"), ("scope", "chat")))] == 1
    assert samples[(EMULATOR_INJECTED_ERRORS.series, (("method", "getMe"),))] == 1


def test_metrics_keep_counting_across_reset(emulator: Emulator) -> None:
    emulator.call("getMe")
    emulator.client.post("/__emulator/reset")
    emulator.call("getMe")
    samples = _samples(emulator)
    key = (EMULATOR_REQUESTS.series, (("method", "getMe"), ("status", "200")))
    assert samples[key] == 2
    assert emulator.client.get("/__emulator/stats").json()["requests"]["total"] == 1


def test_unknown_methods_share_one_label(emulator: Emulator) -> None:
    for name in ("a", "b", "c"):
        emulator.call(name)
    samples = _samples(emulator)
    key = (EMULATOR_REQUESTS.series, (("method", "unknown"), ("status", "404")))
    assert samples[key] == 3
