"""The arithmetic of ``make capacity``: per-step results, the knee, and autoscaler advice.

Pure functions over measured numbers, so the advice can be unit-tested and every figure in the
report comes with the formula that produced it. Units: rates in updates/s, times in ms,
in-flight in concurrent updates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bot_contract.webhook import MAX_CONNECTIONS_MAX, MAX_CONNECTIONS_MIN

if TYPE_CHECKING:
    from localenv.capacity.steps import StepResult


@dataclass(frozen=True)
class Slo:
    """The targets a step must meet to count as sustainable."""

    p95_ms: float
    max_error_ratio: float = 0.01
    min_achieved_ratio: float = 0.95


def breaches(step: StepResult, slo: Slo) -> list[str]:
    """Why ``step`` is not sustainable under ``slo`` (empty when it is)."""
    reasons = []
    if step.requests == 0:
        reasons.append("no requests measured")
    if step.p95_ms > slo.p95_ms:
        reasons.append(f"p95 {step.p95_ms:.0f} ms > {slo.p95_ms:.0f} ms")
    if step.error_ratio > slo.max_error_ratio:
        reasons.append(f"error ratio {step.error_ratio:.3f} > {slo.max_error_ratio:.3f}")
    ratio = step.achieved_rate / step.offered_rate if step.offered_rate > 0 else 0.0
    if ratio < slo.min_achieved_ratio:
        reasons.append(f"achieved/offered {ratio:.2f} < {slo.min_achieved_ratio:.2f}")
    return reasons


@dataclass(frozen=True)
class Knee:
    """The last sustainable step, and the first step that broke the SLO (if any did)."""

    knee: StepResult | None
    breach: StepResult | None
    breach_reasons: tuple[str, ...] = ()


def find_knee(steps: list[StepResult], slo: Slo) -> Knee:
    """The last good step before the first confirmed SLO breach.

    A breach is confirmed when the next step breaches too (or there is no next step): on a
    shared machine one step can miss by noise (a generator stall, a neighbour's burst) while
    the replica still keeps up with the next, higher rate. A later recovery after a confirmed
    breach does not count.
    """
    knee = None
    verdicts = [breaches(step, slo) for step in steps]
    for index, step in enumerate(steps):
        reasons = verdicts[index]
        if not reasons:
            knee = step
            continue
        if index + 1 == len(steps) or verdicts[index + 1]:
            return Knee(knee, step, tuple(reasons))
    return Knee(knee, None)


@dataclass(frozen=True)
class Advice:
    """Autoscaler settings for the infra stacks, with the arithmetic that led to them."""

    sustainable_rate: float
    knee_in_flight: float
    in_flight_source: str
    rate_target_per_pod: float
    in_flight_target_per_pod: float
    target_inflight_config: int
    target_cpu_utilization: int | None
    min_replicas: int
    max_replicas: int
    max_connections: int
    arithmetic: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, plus the infra stack config keys it maps to."""
        data = asdict(self)
        config: dict[str, int] = {
            "tgscale:minReplicas": self.min_replicas,
            "tgscale:maxReplicas": self.max_replicas,
            "tgscale:targetInflightPerPod": self.target_inflight_config,
            "tgscale:webhookMaxConnections": self.max_connections,
        }
        if self.target_cpu_utilization is not None:
            config["tgscale:targetCpuUtilization"] = self.target_cpu_utilization
        data["pulumi_config"] = config
        data["set_webhook"] = f"python -m bot set-webhook --max-connections {self.max_connections}"
        return data


def advise(
    knee: StepResult,
    *,
    peak_rate: float,
    baseline_rate: float,
    headroom: float,
    rtt_ms: float,
    cpu_request_cores: float = 0.25,
    min_replicas_floor: int = 2,
) -> Advice:
    """Turn one replica's knee into per-pod targets, replica bounds and ``max_connections``.

    Args:
        knee: The last sustainable step of a one-replica ramp.
        peak_rate: The fleet's peak arrival rate to plan for (updates/s).
        baseline_rate: The quiet-time rate (updates/s), for ``minReplicas``.
        headroom: The share of the knee a pod is asked to carry (0 < h <= 1), so that the
            autoscaler acts before latency breaks.
        rtt_ms: Network round trip from Telegram to the webhook; Telegram's connections are
            busy for the bot's time plus this.
        cpu_request_cores: The pod's CPU request (``botCpuRequest``), for the CPU target.
        min_replicas_floor: Never fewer replicas than this (a rollout or a lost node must not
            take the bot down).
    """
    if not 0 < headroom <= 1:
        raise ValueError(f"headroom must be in (0, 1], got {headroom}")
    if knee.achieved_rate <= 0:
        raise ValueError("the knee step achieved no updates")
    lines, warnings = [], []
    rate = knee.achieved_rate
    mean = knee.mean_ms
    lines.append(
        f"knee: step {knee.index + 1} at {knee.offered_rate:.0f}/s offered, "
        f"{rate:.1f}/s achieved, p95 {knee.p95_ms:.0f} ms, mean W = {mean:.1f} ms"
    )
    little = knee.little_in_flight
    lines.append(
        f"Little's law: L = lambda * W = {rate:.1f}/s * {mean / 1000:.4f} s = {little:.2f}"
    )
    if knee.in_flight is not None:
        in_flight, source = knee.in_flight, "prometheus avg(sum(tgbot_updates_in_flight))"
        lines.append(f"measured in-flight (Prometheus, mean over the step) = {in_flight:.2f}")
    else:
        in_flight, source = little, "little's law"
        lines.append(
            "no Prometheus: in-flight per replica taken from Little's law; W is client-side "
            "(it includes the network and queueing before the handler), so this over-states "
            "the bot's own tgbot_updates_in_flight gauge, which the autoscaler reads"
        )
    rate_target = headroom * rate
    lines.append(
        f"rate target per pod = headroom * lambda = {headroom} * {rate:.1f} = {rate_target:.1f}/s"
    )
    in_flight_target = max(0.01, round(headroom * in_flight, 2))
    lines.append(
        f"in-flight target per pod = headroom * L = {headroom} * {in_flight:.2f} "
        f"= {in_flight_target:.2f}"
    )
    # The infra config takes a whole number >= 1 (KEDA threshold / HPA AverageValue).
    target_config = max(1, math.floor(in_flight_target))
    whole = f"max(1, floor({in_flight_target:.2f}))"
    lines.append(f"targetInflightPerPod (whole, >= 1) = {whole} = {target_config}")
    if in_flight_target < 1:
        warnings.append(
            f"in-flight per pod at the target is {in_flight_target:.2f} < 1: updates are so "
            "fast that the in-flight signal is coarse; targetInflightPerPod = 1 scales later "
            "than the headroom asks, so prefer the CPU target (hpa) or keep the CPU guard (keda)"
        )
    cpu_target = None
    if knee.cpu_cores is not None and knee.cpu_cores > 0:
        cpu_at_target = headroom * knee.cpu_cores
        cpu_target = max(1, min(100, round(100 * cpu_at_target / cpu_request_cores)))
        lines.append(
            f"CPU at the knee = {knee.cpu_cores:.2f} cores; targetCpuUtilization = 100 * "
            f"headroom * CPU / request = 100 * {headroom} * {knee.cpu_cores:.2f} / "
            f"{cpu_request_cores} = {100 * cpu_at_target / cpu_request_cores:.0f}% -> {cpu_target}"
        )
        if cpu_at_target > cpu_request_cores:
            warnings.append(
                f"a pod at the target uses {cpu_at_target:.2f} cores, more than its request "
                f"{cpu_request_cores}: raise botCpuRequest to about {cpu_at_target:.2f} "
                "(utilization above 100% of the request cannot be a target)"
            )
    max_replicas = max(1, math.ceil(peak_rate / rate_target))
    lines.append(
        f"maxReplicas = ceil(peak / rate target) = ceil({peak_rate:.0f} / {rate_target:.1f}) "
        f"= {max_replicas}"
    )
    min_replicas = max(min_replicas_floor, math.ceil(baseline_rate / rate_target))
    lines.append(
        f"minReplicas = max({min_replicas_floor}, ceil(baseline / rate target)) = max("
        f"{min_replicas_floor}, ceil({baseline_rate:.0f} / {rate_target:.1f})) = {min_replicas}"
    )
    if min_replicas > max_replicas:
        lines.append(f"maxReplicas raised to minReplicas = {min_replicas}")
        max_replicas = min_replicas
    busy = peak_rate * (mean + rtt_ms) / 1000.0
    telegram = math.ceil(busy / headroom)
    lines.append(
        f"Telegram connections busy at peak = peak * (W + RTT) = {peak_rate:.0f} * "
        f"({mean:.1f} + {rtt_ms:.0f}) ms = {busy:.1f}; with headroom: ceil({busy:.1f} / "
        f"{headroom}) = {telegram}"
    )
    feed = max_replicas * target_config
    lines.append(
        f"to let the autoscaler reach maxReplicas: maxReplicas * targetInflightPerPod = "
        f"{max_replicas} * {target_config} = {feed}"
    )
    wanted = max(telegram, feed, MAX_CONNECTIONS_MIN)
    max_connections = min(wanted, MAX_CONNECTIONS_MAX)
    lines.append(
        f"max_connections = clamp(max({telegram}, {feed}), {MAX_CONNECTIONS_MIN}, "
        f"{MAX_CONNECTIONS_MAX}) = {max_connections}"
    )
    if wanted > MAX_CONNECTIONS_MAX:
        ceiling = MAX_CONNECTIONS_MAX * 1000.0 / (mean + rtt_ms)
        useful = math.ceil(MAX_CONNECTIONS_MAX / target_config)
        warnings.append(
            f"Telegram's max_connections cap ({MAX_CONNECTIONS_MAX}) binds: at most "
            f"{ceiling:.0f} updates/s reach the fleet (100 / (W + RTT)). Make updates faster "
            "or shorten the path from Telegram."
        )
        if max_replicas > useful:
            lines.append(
                f"maxReplicas capped at ceil({MAX_CONNECTIONS_MAX} / {target_config}) = {useful}: "
                "Telegram cannot keep more replicas busy (the infra config refuses more)"
            )
            max_replicas = max(useful, min_replicas)
    return Advice(
        sustainable_rate=round(rate, 2),
        knee_in_flight=round(in_flight, 3),
        in_flight_source=source,
        rate_target_per_pod=round(rate_target, 2),
        in_flight_target_per_pod=in_flight_target,
        target_inflight_config=target_config,
        target_cpu_utilization=cpu_target,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        max_connections=max_connections,
        arithmetic=lines,
        warnings=warnings,
    )
