"""KEDA's ScaledObject: the HPA it creates, its triggers, and what its operator does itself.

Transcribed from kedacore/keda (revision in the README): ``controllers/keda/hpa.go``
(``newHPAForScaledObject``, ``getScaledObjectMetricSpecs``), ``apis/keda/v1alpha1``
(``GetHPAMinReplicas``/``GetHPAMaxReplicas``, defaults), ``pkg/scalers`` (``cron_scaler.go``,
``prometheus_scaler.go``, ``rabbitmq_scaler.go``, ``scaler.go``), ``pkg/scaling/scale_handler.go``
(``getScaledObjectState``), ``pkg/scaling/executor/scale_scaledobjects.go`` (``RequestScale``:
activation, scaling to and from zero, ``idleReplicaCount``, ``cooldownPeriod``) and
``pkg/fallback/fallback.go``.

The HPA KEDA creates does the scaling between 1 and ``maxReplicaCount`` on the triggers' metrics
(External, ``AverageValue`` unless ``metricType`` says otherwise); KEDA's own loop, every
``pollingInterval``, only moves the target between zero (or ``idleReplicaCount``) and the
minimum, on the triggers' activity.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from autoscaler_model.behavior import Behavior
from autoscaler_model.cron import CronSchedule
from autoscaler_model.errors import MetricsUnavailableError
from autoscaler_model.hpa import HPASpec, MetricSpec, MetricTarget

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from autoscaler_model.metrics_client import MetricsClient
    from autoscaler_model.pod import Pod, PodMetric, PodUsage

# apis/keda/v1alpha1: defaultPollingInterval, defaultHPAMinReplicas/MaxReplicas;
# pkg/scaling/executor: defaultCooldownPeriod, defaultInitialCooldownPeriod.
DEFAULT_POLLING_INTERVAL_S = 30
DEFAULT_COOLDOWN_PERIOD_S = 300
DEFAULT_INITIAL_COOLDOWN_PERIOD_S = 0
DEFAULT_HPA_MIN_REPLICAS = 1
DEFAULT_HPA_MAX_REPLICAS = 100
# rabbitmq_scaler.go defaultRabbitMQQueueLength.
DEFAULT_RABBITMQ_QUEUE_LENGTH = 20.0
# ScaledObjectOwnerAnnotation: the label KEDA puts on every external metric's selector.
SCALED_OBJECT_OWNER_LABEL = "scaledobject.keda.sh/name"


class FallbackBehavior(enum.StrEnum):
    """``fallback.behavior``."""

    STATIC = "static"
    CURRENT_REPLICAS = "currentReplicas"
    CURRENT_REPLICAS_IF_HIGHER = "currentReplicasIfHigher"
    CURRENT_REPLICAS_IF_LOWER = "currentReplicasIfLower"


@dataclass(frozen=True)
class Fallback:
    """``spec.fallback``: after ``failure_threshold`` failures a trigger reports ``replicas``."""

    failure_threshold: int
    replicas: int
    behavior: FallbackBehavior = FallbackBehavior.STATIC


def normalize_string(text: str) -> str:
    """``kedautil.NormalizeString``: slashes, dots, colons, percent signs, parens to dashes."""
    for char in "/.:%()":
        text = text.replace(char, "-")
    return text


def _cron_time_format(spec: str) -> str:
    """``parseCronTimeFormat``: the schedule as it appears in the metric name."""
    return (
        spec.replace(" ", "")
        .replace("*", "x")
        .replace("/", "Sl")
        .replace("?", "Qm")
        .replace(",", "Cm")
    )


def _milli(value: float) -> int:
    """``quantityFromFloat64`` (``"%.3f"``) then ``MilliValue``: NaN, Inf, negatives are 0."""
    if math.isnan(value) or math.isinf(value) or value < 0:
        return 0
    return int(Decimal(f"{value:.3f}") * 1000)


@dataclass(frozen=True)
class Trigger:
    """One entry of ``spec.triggers`` with what the model needs of its scaler.

    ``target`` is the scaler's per-pod (``AverageValue``) or total (``Value``) target: a
    Prometheus ``threshold``, a RabbitMQ ``value``/``queueLength``, 1 for cron (whose metric is
    its ``desiredReplicas``), the utilization (%) or average value of a cpu/memory trigger.
    ``activation`` is ``activationThreshold``/``activationValue``; ``metadata`` is the
    trigger's metadata as written (a Prometheus ``query`` and ``serverAddress``, a queue name),
    for whoever takes the readings.
    """

    type: str
    index: int
    target: float
    metric_type: str = "AverageValue"
    activation: float = 0.0
    name: str = ""
    start: str = ""
    end: str = ""
    timezone: str = ""
    desired_replicas: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], index: int) -> Trigger:
        """Read one ``spec.triggers`` entry (metadata values are strings in manifests)."""
        return dataclasses.replace(
            cls._from_spec(spec, index), metadata=dict(spec.get("metadata", {}))
        )

    @classmethod
    def _from_spec(cls, spec: Mapping[str, Any], index: int) -> Trigger:
        kind = spec["type"]
        meta = spec.get("metadata", {})
        metric_type = spec.get("metricType") or (
            "Utilization" if kind in ("cpu", "memory") else "AverageValue"
        )
        if kind == "cron":
            # cronMetadata: timezone, start, end and desiredReplicas are all required.
            for key in ("timezone", "start", "end", "desiredReplicas"):
                if not meta.get(key):
                    raise ValueError(f"cron trigger {index}: no {key} specified")
            if meta["start"] == meta["end"]:
                raise ValueError("start and end can not have exactly same time input")
            CronSchedule.parse(meta["start"])
            CronSchedule.parse(meta["end"])
            return cls(
                kind,
                index,
                1.0,
                metric_type,
                start=meta["start"],
                end=meta["end"],
                timezone=meta["timezone"],
                desired_replicas=int(meta["desiredReplicas"]),
            )
        if kind == "prometheus":
            target = float(meta["threshold"])
            activation = float(meta.get("activationThreshold", 0))
            return cls(kind, index, target, metric_type, activation)
        if kind == "rabbitmq":
            target = float(meta.get("value") or meta.get("queueLength") or 0)
            if not target:
                target = DEFAULT_RABBITMQ_QUEUE_LENGTH
            activation = float(meta.get("activationValue", 0))
            return cls(kind, index, target, metric_type, activation, name=meta.get("queueName", ""))
        if kind in ("cpu", "memory"):
            return cls(kind, index, float(meta["value"]), metric_type)
        target = float(meta.get("threshold", meta.get("value", 0)))
        activation = float(meta.get("activationThreshold", meta.get("activationValue", 0)))
        return cls(kind, index, target, metric_type, activation, name=meta.get("metricName", ""))

    @property
    def is_resource(self) -> bool:
        """A cpu/memory trigger becomes an HPA Resource metric, not an External one."""
        return self.type in ("cpu", "memory")

    @property
    def metric_name(self) -> str:
        """``GenerateMetricNameWithIndex(index, ...)`` as each scaler names its metric."""
        if self.type == "cron":
            base = (
                f"cron-{self.timezone}-{_cron_time_format(self.start)}-"
                f"{_cron_time_format(self.end)}"
            )
        elif self.type == "rabbitmq":
            base = f"rabbitmq-{self.name}"
        else:
            base = self.type if not self.name else f"{self.type}-{self.name}"
        return f"s{self.index}-{normalize_string(base)}"

    def metric_spec(self, scaled_object_name: str) -> MetricSpec:
        """``GetMetricSpecForScaling`` plus the owner selector ``hpa.go`` adds."""
        if self.is_resource:
            target = (
                MetricTarget(average_utilization=int(self.target))
                if self.metric_type == "Utilization"
                else MetricTarget(average_value=_milli(self.target))
            )
            container = self.metadata.get("containerName", "")
            if container:
                return MetricSpec.container_resource(self.type, container, target)
            return MetricSpec.resource(self.type, target)
        milli = _milli(self.target)
        target = (
            MetricTarget(value=milli)
            if self.metric_type == "Value"
            else MetricTarget(average_value=milli)
        )
        return MetricSpec.external(
            self.metric_name,
            target,
            selector={"matchLabels": {SCALED_OBJECT_OWNER_LABEL: scaled_object_name}},
        )

    def cron_active(self, now: float) -> bool:
        """``cronScaler.GetMetricsAndActivity``: inside [start, end) as the next times tell."""
        zone = ZoneInfo(self.timezone)
        current = datetime.fromtimestamp(now, zone)
        next_start = CronSchedule.parse(self.start).next_after(current)
        next_end = CronSchedule.parse(self.end).next_after(current)
        if next_start is None or next_end is None:
            return False
        if next_start < next_end:
            return current > next_start and current < next_end
        return current > next_start or current < next_end

    def reading(self, value: float | None, now: float) -> tuple[float, bool]:
        """The scaler's (metric value, active) for a raw reading (``None`` for cron).

        Prometheus, RabbitMQ ``QueueLength`` and generic scalers: active when the value
        exceeds the activation threshold; cron: ``desiredReplicas`` and active inside its window.
        """
        if self.type == "cron":
            active = self.cron_active(now)
            return (float(self.desired_replicas) if active else 0.0), active
        if value is None:
            raise MetricsUnavailableError(f"trigger {self.metric_name} has no reading")
        return value, value > self.activation


@dataclass(frozen=True)
class ScaledObjectSpec:
    """A ScaledObject's spec (``keda.sh/v1alpha1``) with KEDA's defaults."""

    name: str
    triggers: tuple[Trigger, ...]
    min_replica_count: int | None = None
    max_replica_count: int | None = None
    polling_interval: int = DEFAULT_POLLING_INTERVAL_S
    cooldown_period: int = DEFAULT_COOLDOWN_PERIOD_S
    initial_cooldown_period: int = DEFAULT_INITIAL_COOLDOWN_PERIOD_S
    idle_replica_count: int | None = None
    fallback: Fallback | None = None
    behavior: Behavior | None = None

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> ScaledObjectSpec:
        """Read a ScaledObject manifest (``metadata.name`` and ``spec``)."""
        spec = manifest["spec"]
        fallback = spec.get("fallback")
        advanced = spec.get("advanced") or {}
        hpa_config = advanced.get("horizontalPodAutoscalerConfig") or {}
        return cls(
            name=manifest.get("metadata", {}).get("name", ""),
            triggers=tuple(Trigger.from_spec(t, i) for i, t in enumerate(spec["triggers"])),
            min_replica_count=spec.get("minReplicaCount"),
            max_replica_count=spec.get("maxReplicaCount"),
            polling_interval=spec.get("pollingInterval", DEFAULT_POLLING_INTERVAL_S),
            cooldown_period=spec.get("cooldownPeriod", DEFAULT_COOLDOWN_PERIOD_S),
            initial_cooldown_period=spec.get(
                "initialCooldownPeriod", DEFAULT_INITIAL_COOLDOWN_PERIOD_S
            ),
            idle_replica_count=spec.get("idleReplicaCount"),
            fallback=None
            if fallback is None
            else Fallback(
                int(fallback["failureThreshold"]),
                int(fallback["replicas"]),
                FallbackBehavior(fallback.get("behavior", FallbackBehavior.STATIC)),
            ),
            behavior=Behavior.from_spec(hpa_config.get("behavior")),
        )

    @property
    def hpa_min_replicas(self) -> int:
        """``GetHPAMinReplicas``: ``minReplicaCount`` when above 0, else 1."""
        if self.min_replica_count is not None and self.min_replica_count > 0:
            return self.min_replica_count
        return DEFAULT_HPA_MIN_REPLICAS

    @property
    def hpa_max_replicas(self) -> int:
        """``GetHPAMaxReplicas``: ``maxReplicaCount``, default 100."""
        if self.max_replica_count is not None:
            return self.max_replica_count
        return DEFAULT_HPA_MAX_REPLICAS

    def hpa(self) -> HPASpec:
        """``newHPAForScaledObject``: the metrics sorted by type, the configured behavior."""
        names = [t.metric_name for t in self.triggers if not t.is_resource]
        duplicate = {n for n in names if names.count(n) > 1}
        if duplicate:
            raise ValueError(
                f"metricName {sorted(duplicate)[0]} defined multiple times in ScaledObject "
                f"{self.name}"
            )
        metrics = sorted(
            (t.metric_spec(self.name) for t in self.triggers), key=lambda spec: spec.type
        )
        return HPASpec(
            max_replicas=self.hpa_max_replicas,
            metrics=tuple(metrics),
            min_replicas=self.hpa_min_replicas,
            behavior=self.behavior,
        )


@dataclass(frozen=True)
class KedaDecision:
    """One KEDA poll: activity, errors, and the replicas KEDA set itself (``None``: none)."""

    active: bool
    error: bool
    scale_to: int | None
    condition: str


@dataclass
class ScaledObjectState:
    """KEDA's operator state for one ScaledObject: ``lastActiveTime`` and trigger health."""

    spec: ScaledObjectSpec
    creation_time: float
    last_active_time: float | None = None
    failures: dict[str, int] = field(default_factory=dict)

    def metric_values(
        self,
        trigger: Trigger,
        reading: float | None,
        now: float,
        current_replicas: int,
        ready_replicas: int,
    ) -> tuple[list[int], bool]:
        """``GetMetricsWithFallback``: the metric (milli) served for a trigger, and activity.

        Every evaluation counts: a failed reading adds one failure (in KEDA's poll and in the
        HPA's query alike); past ``failureThreshold`` the trigger reports the fallback replicas
        times its target instead of failing, and counts as active.
        """
        try:
            value, active = trigger.reading(reading, now)
        except MetricsUnavailableError:
            fallback = self.spec.fallback
            if fallback is None or fallback.failure_threshold < 0 or fallback.replicas < 0:
                raise
            failures = self.failures.get(trigger.metric_name, 0) + 1
            self.failures[trigger.metric_name] = failures
            if failures <= fallback.failure_threshold:
                raise
            replicas = float(_fallback_replicas(fallback, current_replicas))
            if trigger.metric_type == "Value":
                if ready_replicas == 0:
                    raise MetricsUnavailableError(
                        "readyReplicas is zero, cannot do fallback"
                    ) from None
                replicas /= ready_replicas
            return [int(trigger.target * 1000 * replicas)], True
        if self.spec.fallback is not None:
            self.failures[trigger.metric_name] = 0
        return [_milli(value)], active

    def external_metric(
        self,
        metric_name: str,
        readings: Mapping[str, float | None],
        now: float,
        current_replicas: int,
        ready_replicas: int,
    ) -> Sequence[int]:
        """KEDA's metrics server answering the HPA's ``external.metrics.k8s.io`` query."""
        for trigger in self.spec.triggers:
            if trigger.metric_name == metric_name:
                values, _ = self.metric_values(
                    trigger, readings.get(metric_name), now, current_replicas, ready_replicas
                )
                return values
        raise MetricsUnavailableError(f"no trigger serves metric {metric_name}")

    def poll(
        self,
        readings: Mapping[str, float | None],
        now: float,
        current_replicas: int,
        ready_replicas: int,
    ) -> KedaDecision:
        """One ``pollingInterval`` tick: ``getScaledObjectState`` then ``RequestScale``."""
        active = False
        error = False
        for trigger in self.spec.triggers:
            if trigger.is_resource:
                # cpuMemoryScaler.GetMetricsAndActivity: "always active for cpu/memory scaler".
                active = True
                continue
            try:
                _, trigger_active = self.metric_values(
                    trigger,
                    readings.get(trigger.metric_name),
                    now,
                    current_replicas,
                    ready_replicas,
                )
            except MetricsUnavailableError:
                error = True
                continue
            active = active or trigger_active
        if all(t.is_resource for t in self.spec.triggers) and not error:
            active = True
        return self._request_scale(active, error, current_replicas, now)

    def _request_scale(self, active: bool, error: bool, current: int, now: float) -> KedaDecision:
        """``RequestScale`` (scale_scaledobjects.go)."""
        spec = self.spec
        minimum = spec.min_replica_count or 0
        idle = spec.idle_replica_count
        if active:
            if (idle is not None and current < minimum) or current == 0:
                self.last_active_time = now
                return KedaDecision(True, error, minimum if minimum > 0 else 1, "ScalerActive")
            if not error:
                self.last_active_time = now
            return KedaDecision(True, error, None, "ScalerActive")
        if error and spec.fallback is not None and spec.fallback.replicas != 0:
            return KedaDecision(False, error, None, "ScalerNotActive")
        if error and spec.fallback is None:
            return KedaDecision(False, error, None, "TriggerError")
        if (idle is not None and current > idle) or (current > 0 and minimum == 0):
            if (
                self.last_active_time is None
                and self.creation_time + spec.initial_cooldown_period < now
            ) or (
                self.last_active_time is not None
                and self.last_active_time + spec.cooldown_period < now
            ):
                return KedaDecision(
                    False, error, idle if idle is not None else minimum, "ScalerNotActive"
                )
            return KedaDecision(False, error, None, "ScalerCooldown")
        if idle is None and current < minimum:
            return KedaDecision(False, error, minimum, "ScalerNotActive")
        return KedaDecision(False, error, None, "ScalerNotActive")


def _fallback_replicas(fallback: Fallback, current: int) -> int:
    """``doFallback``'s replica count for each ``fallback.behavior``."""
    if fallback.behavior is FallbackBehavior.CURRENT_REPLICAS:
        return current
    if fallback.behavior is FallbackBehavior.CURRENT_REPLICAS_IF_HIGHER:
        return max(current, fallback.replicas)
    if fallback.behavior is FallbackBehavior.CURRENT_REPLICAS_IF_LOWER:
        return min(current, fallback.replicas)
    return fallback.replicas


@dataclass(frozen=True)
class KedaMetrics:
    """A ``MetricsClient`` whose external metrics are KEDA's metrics server for ``state``.

    Pods, resource and custom metrics come from ``base``; ``readings`` are the triggers' raw
    values by metric name at ``now`` (``None``: the scaler failed).
    """

    base: MetricsClient
    state: ScaledObjectState
    readings: Mapping[str, float | None]
    now: float
    current_replicas: int
    ready_replicas: int

    def pods(self) -> Sequence[Pod]:
        """The base client's pods."""
        return self.base.pods()

    def resource_usage(self, resource: str) -> Sequence[PodUsage]:
        """The base client's metrics-server samples (cpu/memory triggers)."""
        return self.base.resource_usage(resource)

    def pods_metric(self, spec: MetricSpec) -> Mapping[str, PodMetric]:
        """The base client's custom per-pod metrics."""
        return self.base.pods_metric(spec)

    def object_metric(self, spec: MetricSpec) -> int:
        """The base client's custom object metrics."""
        return self.base.object_metric(spec)

    def external_metric(self, spec: MetricSpec) -> Sequence[int]:
        """KEDA's answer for one of the ScaledObject's triggers."""
        return self.state.external_metric(
            spec.name, self.readings, self.now, self.current_replicas, self.ready_replicas
        )
