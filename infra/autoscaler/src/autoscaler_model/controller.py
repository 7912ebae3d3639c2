"""One HPA's sync: ``reconcileAutoscaler`` and ``computeReplicasForMetrics`` (``horizontal.go``).

``HorizontalController`` holds what upstream keeps in memory per HPA (the recommendation log,
the scale-up and scale-down events, the conditions) and is called once per sync period with the
scale subresource, a ``MetricsClient`` and the time. It never sleeps and never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autoscaler_model.behavior import Behavior, ScaleEvent, store_scale_event
from autoscaler_model.errors import ReplicaCalculationError
from autoscaler_model.hpa import HPASpec, MetricSourceType, MetricSpec
from autoscaler_model.normalization import (
    Recommendation,
    convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules,
    stabilize_recommendation,
    stabilize_recommendation_with_behaviors,
)
from autoscaler_model.replica_calculator import (
    DEFAULT_CPU_INITIALIZATION_PERIOD_S,
    DEFAULT_DELAY_OF_INITIAL_READINESS_STATUS_S,
    ReplicaCalculator,
)
from autoscaler_model.tolerance import DEFAULT_TOLERANCE, Tolerances

if TYPE_CHECKING:
    from collections.abc import Mapping

    from autoscaler_model.metrics_client import MetricsClient

# kube-controller-manager's --horizontal-pod-autoscaler-sync-period and
# --horizontal-pod-autoscaler-downscale-stabilization defaults.
DEFAULT_SYNC_PERIOD_S = 15.0
DEFAULT_DOWNSCALE_STABILIZATION_S = 300


@dataclass(frozen=True)
class ControllerConfig:
    """kube-controller-manager's HPA flags and the feature gates the model follows.

    ``configurable_tolerance`` is the ``HPAConfigurableTolerance`` gate (per-HPA
    ``behavior.scale{Up,Down}.tolerance``), ``scale_to_zero`` is ``HPAScaleToZero``,
    ``pod_level_resources`` is ``PodLevelResources``. ``scale_up_limit_*`` are the legacy
    ``max(2 x current, 4)`` limit without behavior (upstream's tests raise the factor to 8).
    """

    tolerance: float = DEFAULT_TOLERANCE
    downscale_stabilization_window: int = DEFAULT_DOWNSCALE_STABILIZATION_S
    cpu_initialization_period: float = DEFAULT_CPU_INITIALIZATION_PERIOD_S
    delay_of_initial_readiness_status: float = DEFAULT_DELAY_OF_INITIAL_READINESS_STATUS_S
    sync_period: float = DEFAULT_SYNC_PERIOD_S
    configurable_tolerance: bool = True
    scale_to_zero: bool = False
    pod_level_resources: bool = True
    scale_up_limit_factor: float = 2.0
    scale_up_limit_minimum: float = 4.0

    @property
    def calculator(self) -> ReplicaCalculator:
        """The replica calculator these settings configure."""
        return ReplicaCalculator(
            self.cpu_initialization_period,
            self.delay_of_initial_readiness_status,
            self.pod_level_resources,
        )


@dataclass(frozen=True)
class Scale:
    """The target's scale subresource: ``spec.replicas`` and ``status.replicas``."""

    spec_replicas: int
    status_replicas: int


@dataclass(frozen=True)
class MetricStatus:
    """One entry of ``status.currentMetrics`` plus the metric's proposal or error."""

    spec: MetricSpec
    replicas: int | None = None
    usage: int | None = None
    utilization: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Reconciliation:
    """The outcome of one sync: what the controller set and why.

    ``desired_replicas`` is ``status.desiredReplicas`` (the scale's new ``spec.replicas`` when
    ``rescale``); ``metric_desired_replicas`` is the metrics' maximum before normalization
    (``None`` when no metric was computed, ``-1`` when the metrics were invalid); ``conditions``
    maps each condition type to its status and reason.
    """

    current_replicas: int
    desired_replicas: int
    rescale: bool
    metric_desired_replicas: int | None
    metric_name: str
    reason: str
    statuses: tuple[MetricStatus, ...]
    conditions: Mapping[str, tuple[bool, str]]
    error: str | None = None


def tolerances_for(hpa: HPASpec, config: ControllerConfig) -> Tolerances:
    """``tolerancesForHpa``: the cluster-wide tolerance unless the HPA sets its own."""
    down = up = config.tolerance
    if hpa.behavior is not None and config.configurable_tolerance:
        if hpa.behavior.scale_down.tolerance is not None:
            down = hpa.behavior.scale_down.tolerance
        if hpa.behavior.scale_up.tolerance is not None:
            up = hpa.behavior.scale_up.tolerance
    return Tolerances(down, up)


@dataclass
class HorizontalController:
    """One HPA's controller state across syncs (upstream keys the same maps by HPA)."""

    hpa: HPASpec
    config: ControllerConfig = field(default_factory=ControllerConfig)
    recommendations: list[Recommendation] | None = None
    scale_up_events: list[ScaleEvent] = field(default_factory=list)
    scale_down_events: list[ScaleEvent] = field(default_factory=list)
    conditions: dict[str, tuple[bool, str]] = field(default_factory=dict)
    desired_replicas: int | None = None

    def _set(self, condition: str, status: bool, reason: str) -> None:
        self.conditions[condition] = (status, reason)

    def compute_replicas_for_metrics(
        self, scale: Scale, metrics: MetricsClient, now: float
    ) -> tuple[int, str, tuple[MetricStatus, ...], str | None]:
        """``computeReplicasForMetrics``: the highest proposal over the valid metrics.

        When every metric is invalid, or some are and the valid ones would scale down, the
        result is ``-1`` (do nothing) with the first error; otherwise the maximum, with the
        first error (if any) reported alongside.
        """
        replicas = 0
        name = ""
        statuses: list[MetricStatus] = []
        first_error: str | None = None
        first_reason = ""
        invalid = 0
        for spec in self.hpa.metrics:
            try:
                status = self._compute_replicas_for_metric(spec, scale, metrics, now)
            except ReplicaCalculationError as exc:
                statuses.append(MetricStatus(spec, error=str(exc)))
                if first_error is None:
                    first_error = f"failed to get {spec.type} metric {spec.name}: {exc}"
                    first_reason = _failed_reason(spec)
                invalid += 1
                continue
            statuses.append(status)
            proposal = 0 if status.replicas is None else status.replicas
            if replicas == 0 or proposal > replicas:
                replicas = proposal
                name = _metric_label(spec)
        if first_error is not None:
            first_error = (
                f"invalid metrics ({invalid} invalid out of {len(self.hpa.metrics)}), "
                f"first error is: {first_error}"
            )
        if invalid >= len(self.hpa.metrics) or (invalid > 0 and replicas < scale.spec_replicas):
            self._set("ScalingActive", False, first_reason)
            return -1, "", tuple(statuses), first_error
        self._set("ScalingActive", True, "ValidMetricFound")
        return replicas, name, tuple(statuses), first_error

    def _compute_replicas_for_metric(
        self, spec: MetricSpec, scale: Scale, metrics: MetricsClient, now: float
    ) -> MetricStatus:
        calc = self.config.calculator
        tolerances = tolerances_for(self.hpa, self.config)
        target = spec.target
        if spec.type not in set(MetricSourceType):
            raise ReplicaCalculationError(f"unknown metric source type {spec.type!r}")
        if spec.type in (MetricSourceType.RESOURCE, MetricSourceType.CONTAINER_RESOURCE):
            usage = metrics.resource_usage(spec.name)
            if target.average_value is not None:
                raw = calc.raw_resource_replicas(
                    scale.spec_replicas,
                    target.average_value,
                    spec.name,
                    tolerances,
                    metrics.pods(),
                    usage,
                    spec.container,
                    now,
                )
                return MetricStatus(spec, raw.replicas, raw.usage)
            if target.average_utilization is None:
                raise ReplicaCalculationError(
                    "invalid resource metric source: neither an average utilization target "
                    "nor an average value (usage) target was set"
                )
            res = calc.resource_replicas(
                scale.spec_replicas,
                target.average_utilization,
                spec.name,
                tolerances,
                metrics.pods(),
                usage,
                spec.container,
                now,
            )
            return MetricStatus(spec, res.replicas, res.raw_average, res.utilization)
        if spec.type == MetricSourceType.PODS:
            if target.average_value is None:
                raise ReplicaCalculationError("invalid pods metric source: no average value target")
            prop = calc.metric_replicas(
                scale.spec_replicas,
                target.average_value,
                tolerances,
                metrics.pods(),
                metrics.pods_metric(spec),
                now,
            )
            return MetricStatus(spec, prop.replicas, prop.usage)
        if spec.type == MetricSourceType.OBJECT:
            if target.value is not None:
                prop = calc.object_metric_replicas(
                    scale.spec_replicas,
                    target.value,
                    tolerances,
                    metrics.object_metric(spec),
                    metrics.pods(),
                )
            elif target.average_value is not None:
                prop = calc.object_per_pod_metric_replicas(
                    scale.status_replicas,
                    target.average_value,
                    tolerances,
                    metrics.object_metric(spec),
                )
            else:
                raise ReplicaCalculationError(
                    "invalid object metric source: neither a value target nor an average "
                    "value target was set"
                )
            return MetricStatus(spec, prop.replicas, prop.usage)
        if target.average_value is not None:
            prop = calc.external_per_pod_metric_replicas(
                scale.status_replicas,
                target.average_value,
                tolerances,
                metrics.external_metric(spec),
            )
        elif target.value is not None:
            prop = calc.external_metric_replicas(
                scale.spec_replicas,
                target.value,
                tolerances,
                metrics.external_metric(spec),
                metrics.pods(),
            )
        else:
            raise ReplicaCalculationError(
                "invalid external metric source: neither a value target nor an average value "
                "target was set"
            )
        return MetricStatus(spec, prop.replicas, prop.usage)

    def reconcile(self, scale: Scale, metrics: MetricsClient, now: float) -> Reconciliation:
        """``reconcileAutoscaler``: one sync; returns what it set and why."""
        current = scale.spec_replicas
        if self.recommendations is None:
            # recordInitialRecommendation
            self.recommendations = [Recommendation(current, now)]
        recommendations = self.recommendations
        self._set("AbleToScale", True, "SucceededGetScale")
        hpa = self.hpa
        min_replicas = hpa.min_replicas
        desired = 0
        reason = ""
        rescale = True
        metric_desired: int | None = None
        metric_name = ""
        statuses: tuple[MetricStatus, ...] = ()
        error: str | None = None

        gate = self.config.scale_to_zero
        scaled_to_zero = gate and self.conditions.get("ScaledToZero", (False, ""))[0]
        needs_metrics = True
        if current == 0:
            if not (
                (min_replicas != 0 and scaled_to_zero)
                or (scaled_to_zero and hpa.has_object_or_external_metrics)
            ):
                needs_metrics = False
                rescale = False
                self._set("ScalingActive", False, "ScalingDisabled")
                if not gate:
                    self.conditions.pop("ScaledToZero", None)
        elif current > hpa.max_replicas:
            reason = "Current number of replicas above Spec.MaxReplicas"
            desired = hpa.max_replicas
            needs_metrics = False
        elif current < min_replicas:
            reason = "Current number of replicas below Spec.MinReplicas"
            desired = min_replicas
            needs_metrics = False

        if needs_metrics:
            metric_desired, metric_name, statuses, error = self.compute_replicas_for_metrics(
                scale, metrics, now
            )
            if metric_desired == -1:
                return self._result(
                    current,
                    self.desired_replicas,
                    False,
                    metric_desired,
                    "",
                    reason,
                    statuses,
                    error,
                )
            if metric_desired > desired:
                desired = metric_desired
            if desired > current:
                reason = f"{metric_name} above target"
            if desired < current:
                reason = "All metrics below target"
            if hpa.behavior is None:
                desired = self._normalize(recommendations, current, desired, min_replicas, now)
            else:
                desired = self._normalize_with_behaviors(
                    recommendations, hpa.behavior, current, desired, min_replicas, now
                )
            if current == 0 and min_replicas != 0 and scaled_to_zero and desired < min_replicas:
                desired = min_replicas
                reason = reason or "Current number of replicas below Spec.MinReplicas"
            rescale = desired != current

        if rescale:
            self._set("AbleToScale", True, "SucceededRescale")
            self._store_scale_event(current, desired, now)
            if gate:
                to_zero = (
                    current > 0
                    and desired == 0
                    and min_replicas == 0
                    and hpa.has_object_or_external_metrics
                )
                self._set("ScaledToZero", to_zero, "ScaledToZero" if to_zero else "NotScaledToZero")
            else:
                self.conditions.pop("ScaledToZero", None)
        else:
            desired = current
        return self._result(
            current, desired, rescale, metric_desired, metric_name, reason, statuses, error
        )

    def _result(
        self,
        current: int,
        desired: int | None,
        rescale: bool,
        metric_desired: int | None,
        metric_name: str,
        reason: str,
        statuses: tuple[MetricStatus, ...],
        error: str | None,
    ) -> Reconciliation:
        self.desired_replicas = current if desired is None else desired
        return Reconciliation(
            current_replicas=current,
            desired_replicas=self.desired_replicas,
            rescale=rescale,
            metric_desired_replicas=metric_desired,
            metric_name=metric_name,
            reason=reason,
            statuses=statuses,
            conditions=dict(self.conditions),
            error=error,
        )

    def _normalize(
        self,
        recommendations: list[Recommendation],
        current: int,
        desired: int,
        min_replicas: int,
        now: float,
    ) -> int:
        """``normalizeDesiredReplicas``: the legacy path without behavior."""
        stabilized = stabilize_recommendation(
            recommendations, desired, self.config.downscale_stabilization_window, now
        )
        self._set(
            "AbleToScale",
            True,
            "ScaleDownStabilized" if stabilized != desired else "ReadyForNewScale",
        )
        result, limit_reason = convert_desired_replicas_with_rules(
            current,
            stabilized,
            min_replicas,
            self.hpa.max_replicas,
            self.config.scale_up_limit_factor,
            self.config.scale_up_limit_minimum,
        )
        self._set("ScalingLimited", result != stabilized, limit_reason)
        return result

    def _normalize_with_behaviors(
        self,
        recommendations: list[Recommendation],
        behavior: Behavior,
        current: int,
        desired: int,
        min_replicas: int,
        now: float,
    ) -> int:
        """``normalizeDesiredReplicasWithBehaviors``: stabilization windows, then the policies."""
        behavior = behavior.with_downscale_window(self.config.downscale_stabilization_window)
        up_window = behavior.scale_up.stabilization_window_seconds or 0
        down_window = behavior.scale_down.stabilization_window_seconds or 0
        stabilized, stabilize_reason = stabilize_recommendation_with_behaviors(
            recommendations, desired, current, up_window, down_window, now
        )
        self._set(
            "AbleToScale",
            True,
            stabilize_reason if stabilized != desired else "ReadyForNewScale",
        )
        result, limit_reason = convert_desired_replicas_with_behavior_rate(
            current,
            stabilized,
            min_replicas,
            self.hpa.max_replicas,
            behavior.scale_up,
            behavior.scale_down,
            self.scale_up_events,
            self.scale_down_events,
            now,
        )
        self._set("ScalingLimited", result != stabilized, limit_reason)
        return result

    def _store_scale_event(self, previous: int, new: int, now: float) -> None:
        """``storeScaleEvent``: only with behavior (the legacy path keeps no events)."""
        behavior = self.hpa.behavior
        if behavior is None:
            return
        if new > previous:
            store_scale_event(self.scale_up_events, behavior.scale_up, new - previous, now)
        else:
            store_scale_event(self.scale_down_events, behavior.scale_down, previous - new, now)


def _metric_label(spec: MetricSpec) -> str:
    """The metric's name as upstream logs it in the rescale reason."""
    if spec.type == MetricSourceType.RESOURCE:
        if spec.target.average_value is not None:
            return f"{spec.name} resource"
        return f"{spec.name} resource utilization (percentage of request)"
    if spec.type == MetricSourceType.CONTAINER_RESOURCE:
        return f"{spec.name} container resource utilization (percentage of request)"
    if spec.type == MetricSourceType.PODS:
        return f"pods metric {spec.name}"
    if spec.type == MetricSourceType.OBJECT:
        kind = spec.described_object.kind if spec.described_object else ""
        return f"{kind} metric {spec.name}"
    return f"external metric {spec.name}"


def _failed_reason(spec: MetricSpec) -> str:
    """The ScalingActive=False reason upstream sets for a metric that failed."""
    reasons: dict[str, str] = {
        MetricSourceType.RESOURCE: "FailedGetResourceMetric",
        MetricSourceType.CONTAINER_RESOURCE: "FailedGetContainerResourceMetric",
        MetricSourceType.PODS: "FailedGetPodsMetric",
        MetricSourceType.OBJECT: "FailedGetObjectMetric",
        MetricSourceType.EXTERNAL: "FailedGetExternalMetric",
    }
    return reasons.get(spec.type, "InvalidMetricSourceType")
