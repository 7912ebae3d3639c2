"""An ``autoscaling/v2`` HorizontalPodAutoscaler spec: its metrics, targets and behavior.

Targets are held in milli-units (``Quantity.MilliValue()``) or as a utilization percentage,
exactly what the controller reads. ``HPASpec.from_manifest`` reads a rendered manifest (what
infra emits or KEDA creates).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoscaler_model.behavior import Behavior
from autoscaler_model.quantity import milli_value

if TYPE_CHECKING:
    from collections.abc import Mapping


class MetricSourceType(enum.StrEnum):
    """``MetricSourceType``."""

    RESOURCE = "Resource"
    CONTAINER_RESOURCE = "ContainerResource"
    PODS = "Pods"
    OBJECT = "Object"
    EXTERNAL = "External"


@dataclass(frozen=True)
class MetricTarget:
    """``MetricTarget``: exactly one of value, average value (milli) or average utilization (%)."""

    value: int | None = None
    average_value: int | None = None
    average_utilization: int | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> MetricTarget:
        """Read a manifest's ``target`` (its ``type`` names which field is meant)."""
        kind = spec.get("type")
        return cls(
            value=milli_value(spec["value"]) if kind == "Value" and "value" in spec else None,
            average_value=milli_value(spec["averageValue"])
            if kind == "AverageValue" and "averageValue" in spec
            else None,
            average_utilization=int(spec["averageUtilization"])
            if kind == "Utilization" and "averageUtilization" in spec
            else None,
        )


@dataclass(frozen=True)
class ObjectReference:
    """``CrossVersionObjectReference`` of an Object metric's described object."""

    kind: str
    name: str
    api_version: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """``MetricSpec``: one source of a desired replica count.

    ``name`` is the resource name (Resource, ContainerResource) or the metric name (Pods,
    Object, External); ``selector`` is the metric's label selector as written;
    ``container`` and ``described_object`` belong to ContainerResource and Object. ``type``
    is a ``MetricSourceType``, or any other string for a type the controller does not know
    (the API server rejects those; the controller counts them as invalid metrics).
    """

    type: str
    name: str
    target: MetricTarget
    container: str = ""
    described_object: ObjectReference | None = None
    selector: Mapping[str, Any] | None = None

    @classmethod
    def resource(cls, name: str, target: MetricTarget) -> MetricSpec:
        """A Resource metric (``cpu``, ``memory``)."""
        return cls(MetricSourceType.RESOURCE, name, target)

    @classmethod
    def container_resource(cls, name: str, container: str, target: MetricTarget) -> MetricSpec:
        """A ContainerResource metric: one container's usage of ``name``."""
        return cls(MetricSourceType.CONTAINER_RESOURCE, name, target, container=container)

    @classmethod
    def pods(cls, name: str, target: MetricTarget) -> MetricSpec:
        """A Pods metric (custom metrics API, per pod, averaged)."""
        return cls(MetricSourceType.PODS, name, target)

    @classmethod
    def object(cls, name: str, described: ObjectReference, target: MetricTarget) -> MetricSpec:
        """An Object metric (custom metrics API, one object's value)."""
        return cls(MetricSourceType.OBJECT, name, target, described_object=described)

    @classmethod
    def external(
        cls, name: str, target: MetricTarget, selector: Mapping[str, Any] | None = None
    ) -> MetricSpec:
        """An External metric (external metrics API; every matching series is summed)."""
        return cls(MetricSourceType.EXTERNAL, name, target, selector=selector)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> MetricSpec:
        """Read one entry of a manifest's ``spec.metrics``."""
        kind = spec["type"]
        if kind not in set(MetricSourceType):
            return cls(kind, "", MetricTarget())
        body = spec[kind[0].lower() + kind[1:]]
        target = MetricTarget.from_spec(body["target"])
        if kind is MetricSourceType.RESOURCE:
            return cls.resource(body["name"], target)
        if kind is MetricSourceType.CONTAINER_RESOURCE:
            return cls.container_resource(body["name"], body["container"], target)
        metric = body["metric"]
        if kind is MetricSourceType.PODS:
            return cls(kind, metric["name"], target, selector=metric.get("selector"))
        if kind is MetricSourceType.OBJECT:
            described = body["describedObject"]
            return cls(
                kind,
                metric["name"],
                target,
                described_object=ObjectReference(
                    described["kind"], described["name"], described.get("apiVersion", "")
                ),
                selector=metric.get("selector"),
            )
        return cls.external(metric["name"], target, metric.get("selector"))


@dataclass(frozen=True)
class HPASpec:
    """``HorizontalPodAutoscalerSpec`` (``minReplicas`` defaults to 1, as the API server does)."""

    max_replicas: int
    metrics: tuple[MetricSpec, ...]
    min_replicas: int = 1
    behavior: Behavior | None = None

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> HPASpec:
        """Read an ``autoscaling/v2`` HorizontalPodAutoscaler object (or just its ``spec``)."""
        spec = manifest.get("spec", manifest)
        metrics = spec.get("metrics") or [
            # SetDefaults_HorizontalPodAutoscaler: no metrics means 80% CPU utilization.
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            }
        ]
        return cls(
            max_replicas=int(spec["maxReplicas"]),
            metrics=tuple(MetricSpec.from_spec(m) for m in metrics),
            min_replicas=int(spec.get("minReplicas", 1)),
            behavior=Behavior.from_spec(spec.get("behavior")),
        )

    @property
    def has_object_or_external_metrics(self) -> bool:
        """``hasObjectOrExternalMetrics``: the precondition for scaling to and from zero."""
        return any(
            m.type in (MetricSourceType.OBJECT, MetricSourceType.EXTERNAL) for m in self.metrics
        )
