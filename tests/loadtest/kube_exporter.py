"""A fixture exporter: kube-state-metrics-shaped series (and the bot's) from a scripted timeline.

Before :meth:`KubeExporter.go` it serves the timeline's first state; after it, the state at
``now - go time``. The script is a list of (from second, replicas, hpa max) steps; the bot's
counters grow by fixed amounts per second so PromQL rates have known values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gevent.pywsgi import WSGIServer

from bot_contract import metrics


@dataclass
class KubeExporter:
    steps: list[tuple[float, int, int]]  # (from second, replicas available, HPA max)
    deployment: str = "tgbot"
    hpa: str = "tgbot"
    fast_per_s: int = 98  # bot deliveries <= 50 ms per second
    slow_per_s: int = 2  # bot deliveries in (50 ms, 500 ms] per second
    shed_per_s: int = 1  # 503 answers per second
    started: float | None = None
    server: WSGIServer | None = field(default=None, repr=False)

    def go(self) -> float:
        self.started = time.time()
        return self.started

    def _state(self) -> tuple[float, int, int]:
        t = 0.0 if self.started is None else time.time() - self.started
        replicas, top = self.steps[0][1], self.steps[0][2]
        for start, r, m in self.steps:
            if t >= start:
                replicas, top = r, m
        return t, replicas, top

    def exposition(self) -> str:
        t, replicas, top = self._state()
        fast, slow = int(t * self.fast_per_s), int(t * self.slow_per_s)
        shed, handled = int(t * self.shed_per_s), int(t * (self.fast_per_s + self.slow_per_s))
        dep = f'namespace="bots",deployment="{self.deployment}"'
        hpa = f'namespace="bots",horizontalpodautoscaler="{self.hpa}"'
        hist = metrics.UPDATE_DURATION.name
        updates = metrics.UPDATES.series
        return "\n".join(
            [
                f"kube_deployment_status_replicas_available{{{dep}}} {replicas}",
                f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}} {replicas}",
                f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}} {top}",
                f'{hist}_bucket{{update_type="text",le="0.05"}} {fast}',
                f'{hist}_bucket{{update_type="text",le="0.5"}} {fast + slow}',
                f'{hist}_bucket{{update_type="text",le="+Inf"}} {fast + slow}',
                f'{hist}_count{{update_type="text"}} {fast + slow}',
                f'{hist}_sum{{update_type="text"}} {fast * 0.01 + slow * 0.3}',
                f'{updates}{{update_type="text",outcome="handled"}} {handled}',
                f'{updates}{{update_type="text",outcome="shed"}} {shed}',
                "",
            ]
        )

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = self.exposition().encode()
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4")])
        return [body]

    def start(self) -> int:
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None)
        self.server.start()
        return int(self.server.server_port)
