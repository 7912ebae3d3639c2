"""What the ramp measures per step: the step's result and its limit signals (plain data).

:mod:`.advice` turns steps into a knee and autoscaler advice; :mod:`.limits` reads the signals
and names the limit that bound a step. Both import this module; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LimitSignals:
    """What the candidate limits showed over one step's window (``None``: not measured).

    Attributes:
        shed: Deliveries the bot answered 503 because ``BOT_MAX_IN_FLIGHT`` was full.
        retried: Transient 503s (pool timeout, database, Bot API, send-slot wait too long).
        max_in_flight: Peak of the bot's summed ``tgbot_updates_in_flight`` (scrape samples).
        in_flight_cap: The bot's summed ``tgbot_updates_in_flight_limit`` (cap x workers).
        pool_waiting_max: Peak of requests waiting for a database connection (scrape samples).
        rate_limited: Calls the emulator answered 429 (Telegram's rate limits).
        connections_busy_max: Peak of the generator's open webhook requests (scrape samples).
        max_connections: The webhook's ``max_connections`` when the delivery keeps to it (the
            telegram model), else ``None``.
        generator_cpu_cores: CPU of the load run (runner, Locust and its workers), in cores.
        machine_busy_cores: CPU of the whole machine (every process), in cores.
        machine_cores: How many cores the machine has.
    """

    shed: float | None = None
    retried: float | None = None
    max_in_flight: float | None = None
    in_flight_cap: float | None = None
    pool_waiting_max: float | None = None
    rate_limited: float | None = None
    connections_busy_max: float | None = None
    max_connections: int | None = None
    generator_cpu_cores: float | None = None
    machine_busy_cores: float | None = None
    machine_cores: int | None = None


@dataclass(frozen=True)
class StepResult:
    """What one step of the ramp achieved (measured after the step settled).

    Attributes:
        index: 0-based step number.
        offered_rate: The arrival rate the shape asked for.
        achieved_rate: Successful (2xx) webhook answers per second.
        p95_ms: Client-side p95 response time at the end of the step.
        mean_ms: Client-side mean response time over the step's window.
        error_ratio: Failed requests / all requests in the window.
        in_flight: Mean of the bot's ``tgbot_updates_in_flight`` over the window (Prometheus),
            or ``None`` when Prometheus was not available.
        requests: Requests counted in the window.
        cpu_cores: CPU the bot's processes used over the window, in cores (``None``: unknown).
        limits: What the bot's and the generator's limits showed over the window
            (:class:`LimitSignals`), for naming the binding limit.
    """

    index: int
    offered_rate: float
    achieved_rate: float
    p95_ms: float
    mean_ms: float
    error_ratio: float
    in_flight: float | None = None
    requests: int = 0
    cpu_cores: float | None = None
    limits: LimitSignals | None = None

    @property
    def little_in_flight(self) -> float:
        """In-flight by Little's law, ``L = lambda * W`` (achieved rate x mean time)."""
        return self.achieved_rate * self.mean_ms / 1000.0
