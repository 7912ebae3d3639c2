"""KEDA's ScaledObject model against KEDA's own tests and docs.

Sources (kedacore/keda at the revision in ``infra/autoscaler/README.md``):
``apis/keda/v1alpha1/scaledobject_types_test.go`` (GetHPAMin/MaxReplicas table),
``pkg/scalers/cron_scaler_test.go`` (``testCronMetadata``, ``cronMetricIdentifiers``,
``TestIsActive``, ``TestIsActiveRange``, ``TestGetMetrics``),
``pkg/scaling/executor/scale_scaledobjects_test.go`` (``RequestScale`` cases),
``pkg/fallback/fallback_test.go`` (``GetMetricsWithFallback`` cases), ``controllers/keda/hpa.go``
and the ScaledObject specification page (keda.sh/docs/latest/reference/scaledobject-spec:
``pollingInterval`` 30, ``cooldownPeriod`` 300, ``initialCooldownPeriod`` 0,
``minReplicaCount`` 0, ``maxReplicaCount`` 100).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from autoscaler_model import (
    Autoscaler,
    ControllerConfig,
    Fallback,
    FallbackBehavior,
    HorizontalController,
    KedaMetrics,
    MetricsUnavailableError,
    MetricTarget,
    Pod,
    PodUsage,
    Scale,
    ScaledObjectSpec,
    ScaledObjectState,
    StaticMetrics,
    Trigger,
)
from autoscaler_model.cron import CronError

NOW = 1_700_000_000.0


def cron(meta: dict[str, str], index: int = 0) -> dict[str, Any]:
    return {"type": "cron", "metadata": meta}


VALID_CRON = {
    "timezone": "Etc/UTC",
    "start": "0 0 * * Thu",
    "end": "59 23 * * Thu",
    "desiredReplicas": "10",
}
VALID_CRON_2 = {
    "timezone": "Etc/UTC",
    "start": "0 */2 * * *",
    "end": "0 1-23/2 * * *",
    "desiredReplicas": "10",
}
VALID_CRON_3 = {
    "timezone": "Etc/UTC",
    "start": "0,30 * * * *",
    "end": "15,45 * * * *",
    "desiredReplicas": "10",
}
KOLKATA = "Asia/Kolkata"


def kolkata(start: str, end: str) -> dict[str, str]:
    return {"timezone": KOLKATA, "start": start, "end": end, "desiredReplicas": "10"}


@pytest.mark.parametrize(
    ("metadata", "is_error"),
    [
        ({}, True),
        (VALID_CRON, False),
        (VALID_CRON_2, False),
        (VALID_CRON_3, False),
        ({"timezone": KOLKATA, "start": "30 * * * *", "end": "45 * * * *"}, True),
        ({"start": "30 * * * *", "end": "45 * * * *", "desiredReplicas": "10"}, True),
        (kolkata("30-33 * * * *", "45 * * * *"), False),
        (kolkata("30 * * * *", "45-50 * * * *"), False),
        (kolkata("-30 * * * *", "45 * * * *"), True),
        (kolkata("30 * * * *", "-50 * * * *"), True),
        (kolkata("30 * * * *", "50 * * -3 *"), True),
        (kolkata("30 * * * *", "30 * * * *"), True),
    ],
)
def test_cron_parse_metadata(metadata: dict[str, str], is_error: bool) -> None:
    """``TestCronParseMetadata`` over ``testCronMetadata``."""
    if is_error:
        with pytest.raises((ValueError, CronError)):
            Trigger.from_spec(cron(metadata), 0)
    else:
        Trigger.from_spec(cron(metadata), 0)


@pytest.mark.parametrize(
    ("metadata", "index", "name"),
    [
        (VALID_CRON, 0, "s0-cron-Etc-UTC-00xxThu-5923xxThu"),
        (VALID_CRON_2, 1, "s1-cron-Etc-UTC-0xSl2xxx-01-23Sl2xxx"),
        (VALID_CRON_3, 2, "s2-cron-Etc-UTC-0Cm30xxxx-15Cm45xxxx"),
    ],
)
def test_cron_get_metric_spec_for_scaling(metadata: dict[str, str], index: int, name: str) -> None:
    """``TestCronGetMetricSpecForScaling`` over ``cronMetricIdentifiers``; target 1 per pod."""
    trigger = Trigger.from_spec(cron(metadata), index)
    spec = trigger.metric_spec("so")
    assert (spec.name, spec.target) == (name, MetricTarget(average_value=1000))


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("when", "active"),
    [
        ("2026-12-03T12:00:00", True),  # a Thursday
        ("2026-12-03T00:00:30", True),
        ("2026-12-02T12:00:00", False),  # a Wednesday
        ("2026-12-04T00:00:30", False),
    ],
)
def test_is_active_and_get_metrics(when: str, active: bool) -> None:
    """``TestIsActive``/``TestGetMetrics``: Thursday-only window, metric 10 inside and 0 outside."""
    trigger = Trigger.from_spec(cron(VALID_CRON), 0)
    assert trigger.reading(None, _ts(when)) == ((10.0 if active else 0.0), active)


@pytest.mark.parametrize("hour", range(24))
def test_is_active_range(hour: int) -> None:
    """``TestIsActiveRange``/``TestGetMetricsRange``: active in even hours."""
    trigger = Trigger.from_spec(cron(VALID_CRON_2), 0)
    assert trigger.cron_active(_ts(f"2026-12-03T{hour:02d}:20:00")) is (hour % 2 == 0)


@pytest.mark.parametrize(
    ("minimum", "maximum", "expected_min", "expected_max"),
    [(None, None, 1, 100), (5, None, 5, 100), (None, 10, 1, 10), (5, 10, 5, 10), (0, None, 1, 100)],
    ids=[
        "Default min and max",
        "Custom min, default max",
        "Default min, custom max",
        "Custom min and max",
        "Zero min, default max",
    ],
)
def test_get_hpa_min_max_replicas(
    minimum: int | None, maximum: int | None, expected_min: int, expected_max: int
) -> None:
    spec = ScaledObjectSpec("so", (), min_replica_count=minimum, max_replica_count=maximum)
    assert (spec.hpa_min_replicas, spec.hpa_max_replicas) == (expected_min, expected_max)


MANIFEST = {
    "metadata": {"name": "bot"},
    "spec": {
        "minReplicaCount": 0,
        "maxReplicaCount": 8,
        "triggers": [
            {
                "type": "prometheus",
                "metadata": {"threshold": "12.5", "activationThreshold": "2", "query": "q"},
            },
            {"type": "cpu", "metadata": {"value": "70"}},
            {"type": "cron", "metadata": VALID_CRON},
        ],
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}
            }
        },
    },
}


def test_scaled_object_maps_to_an_hpa() -> None:
    """``newHPAForScaledObject``: External AverageValue targets with the owner selector, the
    Resource metric for cpu, metrics sorted by type, HPA min 1 for KEDA's 0, and the
    ``advanced.horizontalPodAutoscalerConfig.behavior`` passed through."""
    so = ScaledObjectSpec.from_manifest(MANIFEST)
    assert so.triggers[0].metadata["query"] == "q"  # kept for whoever takes the readings
    assert (so.polling_interval, so.cooldown_period, so.initial_cooldown_period) == (30, 300, 0)
    hpa = so.hpa()
    assert (hpa.min_replicas, hpa.max_replicas) == (1, 8)
    assert [m.type for m in hpa.metrics] == ["External", "External", "Resource"]
    prometheus, cron_metric, cpu = hpa.metrics
    assert prometheus.name == "s0-prometheus"
    assert prometheus.target == MetricTarget(average_value=12500)
    assert prometheus.selector == {"matchLabels": {"scaledobject.keda.sh/name": "bot"}}
    assert cron_metric.target == MetricTarget(average_value=1000)
    assert cpu.target == MetricTarget(average_utilization=70)
    assert hpa.behavior is not None
    assert hpa.behavior.scale_down.stabilization_window_seconds == 60


def test_duplicate_metric_names_are_rejected() -> None:
    """``getScaledObjectMetricSpecs``: "metricName ... defined multiple times"."""
    trigger = {"type": "prometheus", "metadata": {"threshold": "1"}}
    so = ScaledObjectSpec("bot", (Trigger.from_spec(trigger, 0), Trigger.from_spec(trigger, 0)))
    with pytest.raises(ValueError, match="defined multiple times"):
        so.hpa()


def prom(activation: float = 0.0) -> Trigger:
    return Trigger("prometheus", 0, 10.0, activation=activation)


def state(**spec: Any) -> ScaledObjectState:
    return ScaledObjectState(ScaledObjectSpec("so", (prom(),), **spec), creation_time=0.0)


READ = "s0-prometheus"


@pytest.mark.parametrize(
    ("name", "spec", "current", "reading", "scale_to"),
    [
        ("TestScaleToMinReplicasWhenNotActive", {"min_replica_count": 0}, 10, 0.0, 0),
        ("TestScaleToMinReplicasFromLowerInitialReplicaCount", {"min_replica_count": 5}, 1, 0.0, 5),
        ("TestScaleFromMinReplicasWhenActive", {"min_replica_count": 0}, 0, 5.0, 1),
        (
            "TestScaleToIdleReplicasWhenNotActive",
            {"idle_replica_count": 0, "min_replica_count": 5}, 10, 0.0, 0,
        ),
        (
            "TestScaleFromIdleToMinReplicasWhenActive",
            {"idle_replica_count": 0, "min_replica_count": 5}, 0, 5.0, 5,
        ),
    ],
)  # fmt: skip
def test_request_scale(
    name: str, spec: dict[str, Any], current: int, reading: float, scale_to: int
) -> None:
    s = state(**spec)
    decision = s.poll({READ: reading}, NOW, current, current)
    assert decision.scale_to == scale_to, name
    assert decision.active is (reading > 0)
    if decision.active:
        assert s.last_active_time == NOW


def test_activation_threshold_decides_activity_not_the_metric() -> None:
    """prometheus_scaler.go: active is ``val > activationThreshold``; the metric stays ``val``."""
    s = ScaledObjectState(ScaledObjectSpec("so", (prom(activation=5.0),)), creation_time=0.0)
    assert s.poll({READ: 5.0}, NOW, 0, 0).scale_to is None  # 5 is not above 5: stays at zero
    assert s.external_metric(READ, {READ: 5.0}, NOW, 0, 0) == [5000]
    assert s.poll({READ: 5.5}, NOW, 0, 0).scale_to == 1


def test_cooldown_period_delays_scale_to_zero() -> None:
    """``scaleToZeroOrIdle``: zero only once ``lastActiveTime + cooldownPeriod`` has passed."""
    s = state(min_replica_count=0, cooldown_period=300)
    assert s.poll({READ: 1.0}, NOW, 3, 3).active
    assert s.poll({READ: 0.0}, NOW + 300, 3, 3).scale_to is None  # not yet past
    cooling = s.poll({READ: 0.0}, NOW + 300, 3, 3)
    assert cooling.condition == "ScalerCooldown"
    assert s.poll({READ: 0.0}, NOW + 301, 3, 3).scale_to == 0


def test_initial_cooldown_period_counts_from_creation() -> None:
    """``initialCooldownPeriod``: before any activity, zero only after creation + period."""
    s = ScaledObjectState(
        ScaledObjectSpec("so", (prom(),), min_replica_count=0, initial_cooldown_period=120),
        creation_time=NOW,
    )
    assert s.poll({READ: 0.0}, NOW + 120, 2, 2).scale_to is None
    assert s.poll({READ: 0.0}, NOW + 121, 2, 2).scale_to == 0


def fallback_state(failures: int, fallback: Fallback | None) -> ScaledObjectState:
    s = ScaledObjectState(ScaledObjectSpec("so", (prom(),), fallback=fallback), creation_time=0.0)
    s.failures[READ] = failures
    return s


FALLBACK = Fallback(failure_threshold=3, replicas=10)


def test_fallback_disabled_returns_the_metric_and_propagates_the_error() -> None:
    """ "should return the expected metric / propagate the error when fallback is disabled"."""
    s = fallback_state(5, None)
    assert s.external_metric(READ, {READ: 2.0}, NOW, 1, 1) == [2000]
    assert (
        s.failures[READ] == 5
    )  # "should not reset the health status when fallback is not enabled"
    with pytest.raises(MetricsUnavailableError):
        s.external_metric(READ, {READ: None}, NOW, 1, 1)


def test_fallback_resets_health_on_success() -> None:
    """ "should reset the health status when scaler metrics are available"."""
    s = fallback_state(5, FALLBACK)
    assert s.external_metric(READ, {READ: 2.0}, NOW, 1, 1) == [2000]
    assert s.failures[READ] == 0


def test_fallback_bumps_failures_until_the_threshold() -> None:
    """ "should bump the number of failures when metrics call fails"."""
    s = fallback_state(0, FALLBACK)
    with pytest.raises(MetricsUnavailableError):
        s.external_metric(READ, {READ: None}, NOW, 1, 1)
    assert s.failures[READ] == 1


@pytest.mark.parametrize(
    ("behavior", "current", "value"),
    [
        (FallbackBehavior.STATIC, 5, 100_000),  # "normalised metric ... beyond threshold": 100
        (FallbackBehavior.CURRENT_REPLICAS_IF_HIGHER, 5, 100_000),  # 10 replicas x 10 target
        (FallbackBehavior.CURRENT_REPLICAS, 6, 60_000),  # 6 replicas x 10 target
        (FallbackBehavior.CURRENT_REPLICAS_IF_LOWER, 6, 60_000),
    ],
)
def test_fallback_beyond_threshold(behavior: FallbackBehavior, current: int, value: int) -> None:
    s = fallback_state(3, Fallback(3, 10, behavior))
    assert s.external_metric(READ, {READ: None}, NOW, current, current) == [value]
    assert s.failures[READ] == 4
    assert s.poll({READ: None}, NOW, current, current).active  # a fallback counts as active


def test_fallback_with_invalid_parameters_propagates_the_error() -> None:
    """ "should return error when fallback is enabled but scaledobject has invalid parameter"."""
    s = fallback_state(3, Fallback(-3, 10))
    with pytest.raises(MetricsUnavailableError):
        s.external_metric(READ, {READ: None}, NOW, 1, 1)


def test_keda_activates_the_hpa_scales_and_keda_deactivates_after_the_cooldown() -> None:
    """KEDA moves 0 -> 1 on activity (``scaleFromZeroOrIdle``); the HPA it created takes over
    (``GetExternalPerPodMetricReplicas``: ceil(45 / 10) = 5, first capped by the legacy
    ``max(2 x 1, 4)``); KEDA scales to zero once ``lastActiveTime + cooldownPeriod`` passed,
    whatever the HPA's own scale-down window says."""
    so = ScaledObjectSpec.from_manifest(
        {
            "metadata": {"name": "bot"},
            "spec": {
                "maxReplicaCount": 10,
                "cooldownPeriod": 60,
                "triggers": [{"type": "prometheus", "metadata": {"threshold": "10"}}],
            },
        }
    )
    keda = ScaledObjectState(so, creation_time=0.0)
    hpa = HorizontalController(so.hpa(), ControllerConfig())
    busy, idle = {READ: 45.0}, {READ: 0.0}

    def sync(replicas: int, reading: dict[str, float | None], at: float) -> int:
        pods = StaticMetrics(pod_list=[Pod(f"bot-{i}") for i in range(replicas)])
        metrics = KedaMetrics(pods, keda, reading, at, replicas, replicas)
        return hpa.reconcile(Scale(replicas, replicas), metrics, at).desired_replicas

    assert keda.poll(busy, NOW, 0, 0).scale_to == 1
    assert sync(1, busy, NOW + 15) == 4
    assert keda.poll(busy, NOW + 30, 4, 4).scale_to is None
    assert sync(4, busy, NOW + 30) == 5
    assert keda.poll(idle, NOW + 60, 5, 5).condition == "ScalerCooldown"
    assert sync(5, idle, NOW + 75) == 5  # the HPA's 300 s scale-down stabilization holds 5
    assert keda.poll(idle, NOW + 90, 5, 5).condition == "ScalerCooldown"  # 30 + 60 is not past
    assert keda.poll(idle, NOW + 120, 5, 5).scale_to == 0
    assert sync(0, idle, NOW + 135) == 0  # HPA: "ScalingDisabled" at zero replicas


def test_fallback_needs_more_failures_than_the_threshold() -> None:
    """fallback.go: the fallback starts at ``NumberOfFailures > FailureThreshold`` (2 -> 3 is not
    beyond a threshold of 3; 3 -> 4 is)."""
    s = fallback_state(2, FALLBACK)
    with pytest.raises(MetricsUnavailableError):
        s.external_metric(READ, {READ: None}, NOW, 1, 1)
    assert s.external_metric(READ, {READ: None}, NOW, 1, 1) == [100_000]


def test_autoscaler_from_a_scaled_object_runs_keda_and_its_hpa() -> None:
    """``Autoscaler``: the ScaledObject's HPA syncs on KEDA's answers; KEDA polls on its own."""
    autoscaler = Autoscaler.from_manifest(MANIFEST | {"kind": "ScaledObject"}, created_at=0.0)
    assert autoscaler.keda is not None
    assert autoscaler.hpa.max_replicas == 8
    decision = autoscaler.poll({READ: 3.0}, NOW, 0, 0)  # 3 > activationThreshold 2
    assert decision is not None
    assert decision.scale_to == 1
    pods = [Pod(f"bot-{i}", requests={"bot": {"cpu": 1000}}) for i in range(2)]
    usage = [PodUsage(p.name, {"bot": 100}) for p in pods]  # 10 % against the 70 % cpu guard
    base = StaticMetrics(pod_list=pods, resources={"cpu": usage})
    # 50 in flight at 12.5 per pod: 4; the cpu guard asks for 1; the cron window (Thursday) is
    # closed at NOW (a Tuesday): its metric 0 asks for 0. The highest wins.
    result = autoscaler.sync(Scale(2, 2), base, NOW, readings={READ: 50.0})
    assert result.desired_replicas == 4


def test_autoscaler_rejects_other_kinds() -> None:
    with pytest.raises(ValueError, match="not an autoscaler object"):
        Autoscaler.from_manifest({"kind": "Deployment"})


def test_a_cpu_trigger_keeps_the_scaled_object_active() -> None:
    """cpu_memory_scaler.go ``GetMetricsAndActivity``: "always active for cpu/memory scaler",
    so an idle Prometheus trigger beside it never scales the target to zero."""
    cpu = Trigger.from_spec({"type": "cpu", "metadata": {"value": "70"}}, 1)
    s = ScaledObjectState(
        ScaledObjectSpec("so", (prom(), cpu), min_replica_count=0, cooldown_period=0),
        creation_time=0.0,
    )
    decision = s.poll({READ: 0.0}, NOW, 3, 3)
    assert (decision.active, decision.scale_to) == (True, None)


def test_a_cpu_trigger_with_a_container_maps_to_container_resource() -> None:
    """cpu_memory_scaler.go ``GetMetricSpecForScaling``: ``containerName`` -> ContainerResource."""
    spec = Trigger.from_spec(
        {
            "type": "cpu",
            "metricType": "Utilization",
            "metadata": {"value": "60", "containerName": "bot"},
        },
        0,
    ).metric_spec("so")
    assert (spec.type, spec.container, spec.target) == (
        "ContainerResource",
        "bot",
        MetricTarget(average_utilization=60),
    )
