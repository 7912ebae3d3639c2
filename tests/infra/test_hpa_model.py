"""The autoscaler settings each stack ships meet the peak profile's scaling gate, shown with the
autoscaler model (``autoscaler_model``: the HPA controller and KEDA, checked against upstream's
own test tables in ``tests/autoscaler_model``) driving a simulated fleet of bot pods."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from autoscaler_model import (
    Behavior,
    HorizontalController,
    HPASpec,
    MetricSpec,
    MetricTarget,
    Pod,
    PodUsage,
    Scale,
    StaticMetrics,
)
from infra.manifests import autoscaling
from tests.infra.infra_harness import stack_config

if TYPE_CHECKING:
    from collections.abc import Callable

    from infra.config import StackConfig

SYNC_PERIOD_S = 15.0


@dataclass(frozen=True)
class Workload:
    """How the bot turns load into the autoscaler's signal (the capacity assumptions)."""

    startup_s: float  # pod creation → Ready
    metric_delay_s: float  # load → sample the HPA sees (metrics-server or Prometheus + KEDA)
    cpu_ms_per_update: float  # CPU per update (from `make capacity`)
    cpu_request_m: float
    cpu_limit_m: float
    latency_s: float  # handler latency at the target load (Little's law for in-flight)


@dataclass(frozen=True)
class _SimPod:
    created_at: float
    ready_at: float


def simulate(
    controller: HorizontalController,
    workload: Workload,
    rate: Callable[[float], float],
    *,
    replicas: int,
    duration_s: float,
    phase_s: float = 0.0,
) -> list[tuple[float, int, int]]:
    """Run the sync loop; returns (time, desired replicas, ready replicas) after each sync.

    Each sync the controller sees the pods (Ready once ``startup_s`` after creation) and the
    load as of ``metric_delay_s`` ago: CPU per pod (the load spread over the pods Ready then,
    capped at the limit; starting pods idle) and the fleet's in-flight updates (rate x latency)
    as the External metric. ``replicas`` pods exist from the start.
    """
    pods = [_SimPod(-1e9, -1e9) for _ in range(replicas)]
    timeline = []
    now = phase_s
    while now <= duration_s:
        sample_time = now - workload.metric_delay_s
        serving = [p for p in pods if p.ready_at <= sample_time]
        per_pod = rate(sample_time) / max(len(serving), 1)
        busy_m = min(per_pod * workload.cpu_ms_per_update, workload.cpu_limit_m)
        names = [f"bot-{i}" for i in range(len(pods))]
        metrics = StaticMetrics(
            pod_list=[
                Pod(
                    name,
                    ready=p.ready_at <= now,
                    ready_transition_time=p.ready_at if p.ready_at <= now else p.created_at,
                    start_time=p.created_at,
                    requests={"bot": {"cpu": round(workload.cpu_request_m)}},
                )
                for name, p in zip(names, pods, strict=True)
            ],
            resources={
                "cpu": [
                    PodUsage(
                        name,
                        {"bot": round(busy_m if p.ready_at <= sample_time else 0.0)},
                        timestamp=sample_time,
                        window=workload.metric_delay_s,
                    )
                    for name, p in zip(names, pods, strict=True)
                    if p.created_at <= sample_time
                ]
            },
            externals={"inflight": [round(rate(sample_time) * workload.latency_s * 1000)]},
        )
        result = controller.reconcile(Scale(len(pods), len(pods)), metrics, now)
        new = result.desired_replicas
        if new > len(pods):
            pods += [_SimPod(now, now + workload.startup_s) for _ in range(new - len(pods))]
        elif new < len(pods):
            # The ReplicaSet removes the youngest (not-yet-ready first) pods.
            pods = sorted(pods, key=lambda p: p.created_at)[:new]
        timeline.append((now, new, sum(p.ready_at <= now for p in pods)))
        now += SYNC_PERIOD_S
    return timeline


def time_to_ready(
    timeline: list[tuple[float, int, int]], replicas: int, startup_s: float, *, initial: int
) -> float | None:
    """When ``replicas`` pods were Ready: the first sync that asked for them, plus startup
    (0 when the ``initial`` replicas were already enough)."""
    if initial >= replicas:
        return 0.0
    for time, desired, _ in timeline:
        if desired >= replicas:
            return time + startup_s
    return None


def _inflight(target_per_pod: float) -> MetricSpec:
    """KEDA's in-flight trigger as the HPA it creates sees it: External, AverageValue."""
    return MetricSpec.external("inflight", MetricTarget(average_value=round(target_per_pod * 1000)))


def test_scale_down_waits_for_the_stabilization_window() -> None:
    """dev's behavior: nothing inside the 300 s window, then at most 50 % per 60 s."""
    behavior = Behavior.from_spec(autoscaling.behavior(stack_config("dev")))
    hpa = HPASpec(10, (_inflight(1.0),), 2, behavior)
    controller = HorizontalController(hpa)
    metrics = StaticMetrics(externals={"inflight": [2000]})  # asks for 2 replicas

    def sync(replicas: int, at: float) -> int:
        return controller.reconcile(Scale(replicas, replicas), metrics, at).desired_replicas

    assert sync(8, 0.0) == 8  # the first sync records 8 as its initial recommendation
    assert {sync(8, float(t)) for t in range(15, 300, 15)} == {8}
    assert sync(8, 300.0) == 4  # the 8 left the window: at most 50 % per 60 s
    assert sync(4, 345.0) == 4
    assert sync(4, 360.0) == 2


# --- the stacks' defaults against the peak profile --------------------------------------------


@dataclass(frozen=True)
class PeakAssumption:
    """The peak profile's spike and gate, and the per-pod capacity figures.

    The spike and the gate come from ``loadtest/profiles/peak.toml`` (read as a file, see
    :func:`_peak_from_profile`): the baseline rate, baseline x factor during the spike, and the
    Prometheus gate "replicas Ready within ``scale_up_within_s`` of the spike's start". The
    capacity figures are assumptions of what `make capacity` measures on a pod: 3 ms of CPU per
    update, 200 ms handler latency at the target load, pods Ready 20 s after creation (image
    cached; a cluster autoscaler adding nodes would add minutes), and metrics that lag the load
    by one 15 s scrape/resolution period.
    """

    baseline_rate: float
    spike_rate: float
    gate_s: float
    cpu_ms_per_update: float = 3.0
    latency_s: float = 0.2
    startup_s: float = 20.0
    metric_delay_s: float = 15.0

    def rate(self, t: float) -> float:
        return self.spike_rate if t >= 0 else self.baseline_rate


PEAK_PROFILE = Path(__file__).resolve().parents[2] / "loadtest" / "profiles" / "peak.toml"


def _peak_from_profile(path: Path = PEAK_PROFILE) -> PeakAssumption:
    profile = tomllib.loads(path.read_text())
    shape = profile["shape"]
    return PeakAssumption(
        baseline_rate=float(shape["baseline"]),
        spike_rate=float(shape["baseline"]) * float(shape["factor"]),
        gate_s=float(profile["gates"]["prometheus"]["scale_up_within_s"]),
    )


PEAK = _peak_from_profile()


def _workload(cfg: StackConfig, peak: PeakAssumption = PEAK) -> Workload:
    return Workload(
        startup_s=peak.startup_s,
        metric_delay_s=peak.metric_delay_s,
        cpu_ms_per_update=peak.cpu_ms_per_update,
        cpu_request_m=_millicores(cfg.bot.cpu_request),
        cpu_limit_m=_millicores(cfg.bot.cpu_limit),
        latency_s=peak.latency_s,
    )


def _millicores(quantity: str) -> float:
    return float(quantity[:-1]) if quantity.endswith("m") else float(quantity) * 1000


def _needed_replicas(cfg: StackConfig, peak: PeakAssumption = PEAK) -> int:
    """Replicas that carry the spike at the autoscaler's target."""
    scaling = cfg.autoscaling
    if scaling.mode == "hpa":
        per_pod = scaling.target_cpu_utilization / 100 * _millicores(cfg.bot.cpu_request)
        per_pod_rate = per_pod / peak.cpu_ms_per_update
    else:
        per_pod_rate = scaling.target_inflight_per_pod / peak.latency_s
    return math.ceil(peak.spike_rate / per_pod_rate)


def _worst_time_to_ready(
    cfg: StackConfig, behavior: dict[str, object], peak: PeakAssumption = PEAK
) -> float | None:
    """The slowest time to Ready over every phase of the sync loop against the spike."""
    scaling = cfg.autoscaling
    needed = _needed_replicas(cfg, peak)
    metric = (
        MetricSpec.resource("cpu", MetricTarget(average_utilization=scaling.target_cpu_utilization))
        if scaling.mode == "hpa"
        else _inflight(scaling.target_inflight_per_pod)
    )
    hpa = HPASpec(
        scaling.max_replicas, (metric,), scaling.min_replicas, Behavior.from_spec(behavior)
    )
    worst = 0.0
    for phase in range(15):
        timeline = simulate(
            HorizontalController(hpa), _workload(cfg, peak), peak.rate,
            replicas=scaling.min_replicas, duration_s=600.0, phase_s=float(phase),
        )  # fmt: skip
        reached = time_to_ready(timeline, needed, peak.startup_s, initial=scaling.min_replicas)
        if reached is None:
            return None
        worst = max(worst, reached)
    return worst


STACKS = [
    ("dev", {}),
    ("dev", {"autoscaler": "keda"}),
    ("ci", {}),
    ("prod", {}),
    ("prod", {"autoscaler": "hpa", "peakSchedules": "[]"}),
]


def _full_capacity(cfg: StackConfig, peak: PeakAssumption = PEAK) -> PeakAssumption:
    """The profile's spike raised (never lowered) to what maxReplicas carry at the target, so
    every case must scale from minReplicas to maxReplicas (a 2 → 2 case proves nothing)."""
    carried = peak.spike_rate * cfg.autoscaling.max_replicas / _needed_replicas(cfg, peak)
    return dataclasses.replace(peak, spike_rate=max(peak.spike_rate, carried * 0.95))


@pytest.mark.parametrize(("stack", "overrides"), STACKS)
def test_default_settings_meet_the_peak_gate(stack: str, overrides: dict[str, str]) -> None:
    cfg = stack_config(stack, overrides)
    needed = _needed_replicas(cfg)
    assert cfg.autoscaling.min_replicas <= needed <= cfg.autoscaling.max_replicas, (
        f"maxReplicas {cfg.autoscaling.max_replicas} cannot carry the spike ({needed} needed)"
    )
    reached = _worst_time_to_ready(cfg, autoscaling.behavior(cfg))
    assert reached is not None, f"{needed} replicas never Ready"
    assert reached <= PEAK.gate_s, f"{needed} Ready after {reached} s"


@pytest.mark.parametrize(("stack", "overrides"), STACKS)
def test_each_stack_scales_min_to_max_within_the_gate(
    stack: str, overrides: dict[str, str]
) -> None:
    """Defect 12: prod's profile spike needs only its 2 minimum replicas; at full capacity every
    stack must really scale, and within the profile's gate."""
    cfg = stack_config(stack, overrides)
    spike = _full_capacity(cfg)
    needed = _needed_replicas(cfg, spike)
    assert cfg.autoscaling.min_replicas < needed <= cfg.autoscaling.max_replicas
    reached = _worst_time_to_ready(cfg, autoscaling.behavior(cfg), spike)
    assert reached is not None, f"{needed} replicas never Ready"
    assert 0 < reached <= spike.gate_s, f"{needed} Ready after {reached} s"


def test_keda_scales_out_on_in_flight_within_the_gate() -> None:
    """prod's KEDA settings against a x10 spike (200 updates/s = 40 in flight): 2 → 4 pods."""
    cfg = stack_config("prod")
    big = dataclasses.replace(PEAK, spike_rate=200.0)
    assert _needed_replicas(cfg, big) == 4
    reached = _worst_time_to_ready(cfg, autoscaling.behavior(cfg), big)
    assert reached is not None
    assert 0 < reached <= big.gate_s


def test_slow_behavior_misses_the_gate() -> None:
    """The check can fail: one pod per minute (a common cautious setting) is too slow."""
    cfg = stack_config("dev")
    slow = autoscaling.behavior(cfg) | {
        "scaleUp": {
            "stabilizationWindowSeconds": 60,
            "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
        }
    }
    reached = _worst_time_to_ready(cfg, slow)
    assert reached is None or reached > PEAK.gate_s


def test_report_times(capsys: pytest.CaptureFixture[str]) -> None:
    """Print the modelled times (visible with -s) so a reader sees the margin, not just a pass."""
    for stack, overrides in STACKS:
        cfg = stack_config(stack, overrides)
        reached = _worst_time_to_ready(cfg, autoscaling.behavior(cfg))
        spike = _full_capacity(cfg)
        full = _worst_time_to_ready(cfg, autoscaling.behavior(cfg), spike)
        with capsys.disabled():
            print(
                f"\n{stack}/{cfg.autoscaling.mode}: {cfg.autoscaling.min_replicas} → "
                f"{_needed_replicas(cfg)} replicas Ready after {reached} s (gate {PEAK.gate_s} s); "
                f"at full capacity ({spike.spike_rate:.0f}/s) → {_needed_replicas(cfg, spike)} "
                f"after {full} s"
            )
        assert reached is not None
