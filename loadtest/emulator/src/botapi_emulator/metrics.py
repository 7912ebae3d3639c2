"""``/metrics``: the emulator's counters as the ``tgemu_*`` metrics of ``bot_contract.metrics``.

The counters live in plain dictionaries on the hot path; a custom collector turns them into
Prometheus families only when scraped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, exposition
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from bot_contract.metrics import (
    EMULATOR_INJECTED_ERRORS,
    EMULATOR_RATE_LIMITED,
    EMULATOR_REQUESTS,
    LABEL_METHOD,
    LABEL_SCOPE,
    LABEL_STATUS,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric

    from botapi_emulator.state import EmulatorState


class _EmulatorCollector(Collector):
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        counters, created = self._state.counters, self._state.started
        requests = CounterMetricFamily(
            EMULATOR_REQUESTS.name,
            EMULATOR_REQUESTS.documentation,
            labels=(LABEL_METHOD, LABEL_STATUS),
        )
        for (method, status), count in sorted(counters.requests.items()):
            requests.add_metric((method, str(status)), count, created=created)
        limited = CounterMetricFamily(
            EMULATOR_RATE_LIMITED.name,
            EMULATOR_RATE_LIMITED.documentation,
            labels=(LABEL_METHOD, LABEL_SCOPE),
        )
        for (method, scope), count in sorted(counters.rate_limited.items()):
            limited.add_metric((method, scope), count, created=created)
        injected = CounterMetricFamily(
            EMULATOR_INJECTED_ERRORS.name,
            EMULATOR_INJECTED_ERRORS.documentation,
            labels=(LABEL_METHOD,),
        )
        for method, count in sorted(counters.injected_errors.items()):
            injected.add_metric((method,), count, created=created)
        yield from (requests, limited, injected)


def metrics_response(state: EmulatorState, accept: str) -> Response:
    """Render the emulator's metrics in the format the scraper asked for."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EmulatorCollector(state))
    encoder, content_type = exposition.choose_encoder(accept)
    return Response(encoder(registry), headers={"Content-Type": content_type})
