"""The autoscaler settings each stack ships meet the peak profile's scaling gate, shown with a
model of the HPA controller's arithmetic (hpa_controller_model), which is itself checked against
the controller's documented behaviour first."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infra.manifests import autoscaling
from tests.infra.hpa_controller_model import (
    Autoscaler,
    Behavior,
    Workload,
    external_average_value_replicas,
    resource_utilization_replicas,
    simulate,
    time_to_ready,
)
from tests.infra.infra_harness import stack_config

if TYPE_CHECKING:
    from infra.config import StackConfig

# --- the model against the controller's documented arithmetic (INFRA.md §4) -------------------


def test_tolerance_keeps_the_scale() -> None:
    assert resource_utilization_replicas(4, [65.0] * 4, 0, 60.0) == 4  # ratio 1.083
    assert resource_utilization_replicas(4, [70.0] * 4, 0, 60.0) == 5  # ratio 1.167


def test_unready_pods_count_as_zero_when_scaling_up() -> None:
    # 2 ready pods at 120 % of a 60 % target would ask for 4; 2 unready pods dilute it to 2x.
    assert resource_utilization_replicas(2, [120.0] * 2, 0, 60.0) == 4
    assert resource_utilization_replicas(4, [120.0] * 2, 2, 60.0) == 4
    # Diluted below the target the direction flips: keep the current scale.
    assert resource_utilization_replicas(6, [70.0] * 2, 4, 60.0) == 6


def test_external_average_value() -> None:
    assert external_average_value_replicas(2, 100.0, 8.0) == 13  # ceil(100 / 8)
    assert external_average_value_replicas(2, 17.0, 8.0) == 2  # 17 / 16 is within tolerance


def test_behavior_defaults_add_four_pods_or_double_per_period() -> None:
    hpa = Autoscaler(1, 100, Behavior.from_spec({}), replicas=1)
    assert hpa.decide(0.0, 50) == 5  # max(1 + 4, 1 x 2)
    assert hpa.decide(15.0, 50) == 10  # period start 5 → max(9, 10)


def test_no_behavior_uses_the_legacy_limit() -> None:
    hpa = Autoscaler(1, 100, None, replicas=1)
    assert hpa.decide(0.0, 50) == 4  # max(2 x 1, 4)
    assert hpa.decide(15.0, 50) == 8


def test_scale_down_waits_for_the_stabilization_window() -> None:
    spec = autoscaling.behavior(stack_config("dev"))
    hpa = Autoscaler(2, 10, Behavior.from_spec(spec), replicas=8)
    hpa.recommendations.append((0.0, 8))
    replicas = [hpa.decide(float(t), 2) for t in range(15, 300, 15)]
    assert set(replicas) == {8}, "no scale-down inside the 300 s window"
    assert hpa.decide(300.0, 2) == 4  # the 8 left the window: at most 50 % per 60 s
    assert hpa.decide(345.0, 2) == 4
    assert hpa.decide(360.0, 2) == 2


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
    mode, target = (
        ("cpu", float(scaling.target_cpu_utilization))
        if scaling.mode == "hpa"
        else ("inflight", float(scaling.target_inflight_per_pod))
    )
    worst = 0.0
    for phase in range(15):
        hpa = Autoscaler(
            scaling.min_replicas, scaling.max_replicas, Behavior.from_spec(behavior),
            replicas=scaling.min_replicas,
        )  # fmt: skip
        timeline = simulate(
            hpa, _workload(cfg, peak), peak.rate, mode=mode, target=target,
            duration_s=600.0, phase_s=float(phase),
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
        with capsys.disabled():
            print(
                f"\n{stack}/{cfg.autoscaling.mode}: {cfg.autoscaling.min_replicas} → "
                f"{_needed_replicas(cfg)} replicas Ready after {reached} s (gate {PEAK.gate_s} s)"
            )
        assert reached is not None
