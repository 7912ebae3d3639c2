"""Per-process state of a run: the traffic generator, the delivery queues and the tallies.

One :class:`LoadRuntime` lives on each Locust process (``environment.tgscale``). On a worker or
the local runner it generates and delivers updates; on the master (and the local runner) it
also holds the :attr:`LoadRuntime.aggregate` tally fed by the workers' reports, which the
timeline, the progress line, the exporter and the gates read.
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import gevent
import orjson

from bot_contract import traffic
from bot_contract.webhook import SECRET_HEADER
from loadtest.delivery import Arrivals, WebhookQueues
from loadtest.tally import Tally

if TYPE_CHECKING:
    from locust.env import Environment

    from loadtest.options import Settings

_ATTRIBUTE = "tgscale"


@dataclass
class LoadRuntime:
    """The run's settings and this process's generator, queues and counts."""

    settings: Settings
    tally: Tally = field(default_factory=Tally)
    aggregate: Tally = field(default_factory=Tally)
    queues: WebhookQueues | None = None
    arrivals: Arrivals | None = None
    slot: int = 0
    slots: int = 1
    started_at: float | None = None  # unix time the test started (master or local)
    stopped_at: float | None = None
    stopping: bool = False
    final_reports: set[str] = field(default_factory=set)
    open_in_flight: int = 0
    open_max_in_flight: int = 0
    _greenlet: gevent.Greenlet[..., None] | None = None

    @property
    def model(self) -> str:
        """``telegram`` or ``open``."""
        return self.settings.profile.delivery.model

    headers: dict[str, str] = field(init=False)  # what Telegram sends with every delivery

    def __post_init__(self) -> None:
        self.headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate"}
        if self.settings.secret:
            self.headers[SECRET_HEADER] = self.settings.secret

    def build_generator(self, slot: int, slots: int, id_start: int) -> traffic.TrafficGenerator:
        """The traffic generator of ``slot`` out of ``slots`` processes."""
        profile = self.settings.profile
        self.slot, self.slots = slot, slots
        population = traffic.Population(profile.population)
        ids = traffic.UpdateIdAllocator(start=id_start, slot=slot, slots=slots)
        return traffic.TrafficGenerator(population, profile.mix, ids)

    def start_generating(self, slot: int, slots: int, id_start: int) -> None:
        """Start creating updates (telegram model: into the queues, on its own greenlet)."""
        generator = self.build_generator(slot, slots, id_start)
        delivery = self.settings.profile.delivery
        rng = random.Random(  # noqa: S311 (retry caps, not security)
            self.settings.profile.population.seed + slot
        )
        self.queues = WebhookQueues(
            self.tally,
            rng,
            duplicate_ratio=delivery.duplicate_ratio,
            max_pending=delivery.max_pending,
        )
        queues = self.queues

        def sink(item: traffic.GeneratedUpdate) -> None:
            queues.offer(item, orjson.dumps(item.update))

        self.arrivals = Arrivals(
            self.settings.profile.shape,
            generator,
            sink,
            share=1 / slots,
            rate_scale=self.settings.rate_scale,
            room=lambda: queues.max_pending - queues.pending,
            tally=self.tally,
        )
        # The population is large and lives for the whole run: keep it out of the cyclic
        # garbage collector's scans, which otherwise grow with it on every collection.
        gc.freeze()
        # Every update allocates a few dozen short-lived dicts; collecting the young generation
        # every 700 allocations (the default) is costly (measured: localenv/README.md).
        gc.set_threshold(500_000, 50, 1000)
        if self.model == "telegram":
            self._greenlet = gevent.spawn(self.arrivals.run)

    def stop_generating(self) -> None:
        """Stop creating updates (queued ones stay counted as pending)."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        self.stopping = True

    def gauges(self) -> tuple[int, int]:
        """(pending updates, requests in flight) of this process."""
        if self.model == "open":
            return self.open_in_flight, self.open_in_flight
        if self.queues is None:
            return 0, 0
        return self.queues.pending, self.queues.in_flight

    def fleet_gauges(self) -> tuple[int, int]:
        """(pending, in flight) over every generator: this process's, or the workers' sum."""
        if self.aggregate is self.tally:
            return self.gauges()
        return self.aggregate.pending, self.aggregate.in_flight

    def elapsed(self) -> float:
        """Seconds since the test started (0 before)."""
        return 0.0 if self.started_at is None else time.time() - self.started_at


def runtime_of(environment: Environment) -> LoadRuntime:
    """The run's :class:`LoadRuntime` on this process.

    Raises:
        RuntimeError: used before the load suite's ``test_start`` hook ran.
    """
    found = getattr(environment, _ATTRIBUTE, None)
    if found is None:
        raise RuntimeError("the tgscale runtime is not set up: use loadtest/locustfile.py")
    return cast("LoadRuntime", found)


# Locust runs one Environment per process; some events (report_to_master, worker_report) do not
# pass it, so the current runtime is also kept here.
_CURRENT: dict[str, LoadRuntime] = {}


def attach(environment: Environment, runtime: LoadRuntime) -> None:
    """Make ``runtime`` this process's runtime."""
    setattr(environment, _ATTRIBUTE, runtime)
    _CURRENT["runtime"] = runtime


def current_runtime() -> LoadRuntime | None:
    """This process's runtime, if a run was set up."""
    return _CURRENT.get("runtime")
