"""Load shapes in updates per second: steady, peak, variable (diurnal) and step.

Every shape is a :class:`RateShape`, a schedule given by the pure function ``rate_at(t)``
(updates/s at ``t`` seconds into the run, ``None`` once it ends). Each load generator calls it
with its own clock to pace its arrivals. So the shape is an *arrival rate*, not a user count:
Locust's one ``LoadTestShape``, :class:`loadtest.hooks.ProfileShape`, sets the users (the
``max_connections`` webhook connections in the telegram model, one arrival driver per process
in the open model) and ends the run when the schedule does.
"""

from __future__ import annotations

import abc
import math
import random
from dataclasses import dataclass
from typing import Any

#: Telegram opens at most 10 new webhook connections per 0.5 s (WebhookActor.cpp).
CONNECTION_RAMP_PER_S = 20.0


@dataclass(frozen=True)
class Stage:
    """A stretch of ``duration_s`` seconds at ``rate`` updates/s (ramped from the last stage)."""

    duration_s: float
    rate: float
    ramp: bool = False


class RateShape(abc.ABC):
    """An arrival-rate schedule: ``rate_at(t)`` updates/s over ``duration_s`` seconds."""

    @property
    @abc.abstractmethod
    def duration_s(self) -> float:
        """The run length in seconds."""

    @abc.abstractmethod
    def rate_at(self, t: float) -> float | None:
        """The target arrival rate (updates/s) at ``t`` s into the run; ``None`` after the end."""

    def spike(self) -> tuple[float, float] | None:
        """The (start, end) of the load spike in run seconds, for the scaling gates."""
        return None

    @abc.abstractmethod
    def scaled(self, duration_s: float) -> RateShape:
        """The same shape stretched or squeezed to last ``duration_s`` seconds."""

    def describe(self) -> dict[str, Any]:
        """The shape's parameters, for the report."""
        return {"kind": type(self).__name__, "duration_s": self.duration_s}


class SteadyShape(RateShape):
    """A constant ``rate`` for ``duration_s`` seconds."""

    def __init__(self, rate: float, duration_s: float) -> None:
        """A steady ``rate`` updates/s for ``duration_s`` seconds."""
        self.rate, self._duration = rate, duration_s

    @property
    def duration_s(self) -> float:
        """The run length in seconds."""
        return self._duration

    def rate_at(self, t: float) -> float | None:
        """``rate`` until the end."""
        return self.rate if 0 <= t < self._duration else None

    def scaled(self, duration_s: float) -> SteadyShape:
        """The same rate for ``duration_s``."""
        return SteadyShape(self.rate, duration_s)

    def describe(self) -> dict[str, Any]:
        """The shape's parameters."""
        return {**super().describe(), "rate": self.rate}


class StepShape(RateShape):
    """Stages played one after another (a capacity ramp, or any piecewise schedule)."""

    def __init__(self, stages: tuple[Stage, ...]) -> None:
        """Play ``stages`` in order; a ``ramp`` stage moves linearly from the previous rate."""
        if not stages or any(s.duration_s <= 0 or s.rate < 0 for s in stages):
            raise ValueError("a step shape needs stages with duration_s > 0 and rate >= 0")
        self.stages = stages

    @classmethod
    def ramp(cls, start: float, step: float, steps: int, step_s: float) -> StepShape:
        """``steps`` stages of ``step_s`` seconds: ``start``, ``start + step``, ..."""
        return cls(tuple(Stage(step_s, start + i * step) for i in range(steps)))

    @property
    def duration_s(self) -> float:
        """The sum of the stage durations."""
        return sum(s.duration_s for s in self.stages)

    def rate_at(self, t: float) -> float | None:
        """The current stage's rate (interpolated inside a ramp stage)."""
        if t < 0:
            return None
        begin, previous = 0.0, 0.0
        for stage in self.stages:
            if t < begin + stage.duration_s:
                if stage.ramp:
                    return previous + (stage.rate - previous) * (t - begin) / stage.duration_s
                return stage.rate
            begin, previous = begin + stage.duration_s, stage.rate
        return None

    def scaled(self, duration_s: float) -> StepShape:
        """Every stage stretched by the same factor."""
        factor = duration_s / self.duration_s
        return StepShape(tuple(Stage(s.duration_s * factor, s.rate, s.ramp) for s in self.stages))

    def describe(self) -> dict[str, Any]:
        """The stages."""
        stages = [[s.duration_s, s.rate, s.ramp] for s in self.stages]
        return {**super().describe(), "stages": stages}


class PeakShape(StepShape):
    """A ``baseline``, a spike to ``baseline * factor`` for ``spike_s`` seconds, then back."""

    def __init__(
        self,
        baseline: float,
        factor: float,
        spike_start_s: float,
        spike_s: float,
        duration_s: float,
    ) -> None:
        """The spike starts at ``spike_start_s`` and lasts ``spike_s``; the run ``duration_s``."""
        if not 0 < spike_start_s < spike_start_s + spike_s < duration_s or factor < 1:
            raise ValueError("a peak needs 0 < spike start < spike end < duration and factor >= 1")
        self.baseline, self.factor = baseline, factor
        self.spike_start_s, self.spike_s = spike_start_s, spike_s
        super().__init__(
            (
                Stage(spike_start_s, baseline),
                Stage(spike_s, baseline * factor),
                Stage(duration_s - spike_start_s - spike_s, baseline),
            )
        )

    def spike(self) -> tuple[float, float] | None:
        """The spike's window."""
        return self.spike_start_s, self.spike_start_s + self.spike_s

    def scaled(self, duration_s: float) -> PeakShape:
        """Spike start and length keep their share of the run."""
        f = duration_s / self.duration_s
        return PeakShape(
            self.baseline, self.factor, self.spike_start_s * f, self.spike_s * f, duration_s
        )

    def describe(self) -> dict[str, Any]:
        """The peak's parameters."""
        return {
            "kind": "PeakShape",
            "duration_s": self.duration_s,
            "baseline": self.baseline,
            "factor": self.factor,
            "spike_start_s": self.spike_start_s,
            "spike_s": self.spike_s,
        }


class VariableShape(RateShape):
    """A compressed day: a diurnal curve around ``mean`` with seeded, smooth-ish noise.

    ``rate(t) = mean * (1 - amplitude * cos(2π t / period_s)) * (1 + noise * n(t))``, where
    ``n`` is a value noise in -1..1 that changes every ``noise_step_s`` seconds (linearly
    interpolated), so a 10-minute "day" starts at the night trough and peaks at noon.
    """

    def __init__(
        self,
        mean: float,
        duration_s: float,
        *,
        amplitude: float = 0.6,
        period_s: float | None = None,
        noise: float = 0.15,
        noise_step_s: float = 5.0,
        seed: int = 1,
    ) -> None:
        """A diurnal curve; ``period_s`` defaults to the run length (one day per run)."""
        if not 0 <= amplitude < 1 or not 0 <= noise < 1 or mean <= 0:
            raise ValueError("variable shape: mean > 0, 0 <= amplitude < 1, 0 <= noise < 1")
        self.mean, self._duration, self.amplitude = mean, duration_s, amplitude
        self.period_s = period_s or duration_s
        self.noise, self.noise_step_s, self.seed = noise, noise_step_s, seed
        rng = random.Random(seed)  # noqa: S311 (noise in a load curve)
        self._knots = [rng.uniform(-1, 1) for _ in range(int(duration_s / noise_step_s) + 2)]

    @property
    def duration_s(self) -> float:
        """The run length in seconds."""
        return self._duration

    def rate_at(self, t: float) -> float | None:
        """The curve's value at ``t``."""
        if not 0 <= t < self._duration:
            return None
        diurnal = 1 - self.amplitude * math.cos(2 * math.pi * t / self.period_s)
        i, frac = divmod(t / self.noise_step_s, 1)
        knot = self._knots[int(i)] * (1 - frac) + self._knots[int(i) + 1] * frac
        return max(0.0, self.mean * diurnal * (1 + self.noise * knot))

    def scaled(self, duration_s: float) -> VariableShape:
        """One compressed day over ``duration_s``."""
        period = self.period_s * duration_s / self._duration
        return VariableShape(
            self.mean,
            duration_s,
            amplitude=self.amplitude,
            period_s=period,
            noise=self.noise,
            noise_step_s=self.noise_step_s * duration_s / self._duration,
            seed=self.seed,
        )

    def describe(self) -> dict[str, Any]:
        """The curve's parameters."""
        return {
            **super().describe(),
            "mean": self.mean,
            "amplitude": self.amplitude,
            "period_s": self.period_s,
            "noise": self.noise,
            "seed": self.seed,
        }


def build_shape(spec: dict[str, Any]) -> RateShape:
    """Build a shape from a profile's ``[shape]`` table (``kind`` plus that shape's fields)."""
    params = dict(spec)
    kind = params.pop("kind", None)
    try:
        if kind == "steady":
            return SteadyShape(float(params["rate"]), float(params["duration_s"]))
        if kind == "peak":
            return PeakShape(
                float(params["baseline"]),
                float(params["factor"]),
                float(params["spike_start_s"]),
                float(params["spike_s"]),
                float(params["duration_s"]),
            )
        if kind == "variable":
            return VariableShape(
                float(params.pop("mean")), float(params.pop("duration_s")), **params
            )
        if kind == "step":
            if "stages" in params:
                return StepShape(tuple(Stage(*stage) for stage in params["stages"]))
            return StepShape.ramp(
                float(params["start"]),
                float(params["step"]),
                int(params["steps"]),
                float(params["step_s"]),
            )
    except KeyError as missing:
        raise ValueError(f"shape {kind!r} needs {missing}") from None
    raise ValueError(f"unknown shape kind {kind!r} (steady, peak, variable, step)")
