"""What the controller reads on each sync: the target's pods and the metrics APIs.

``MetricsClient`` is the seam: a local controller implements it on Prometheus queries, a
what-if on a simulated fleet, tests on fixed values (``StaticMetrics``). A method raises
``MetricsUnavailableError`` when the pipeline has no answer (the metric then counts as invalid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from autoscaler_model.errors import MetricsUnavailableError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from autoscaler_model.hpa import MetricSpec
    from autoscaler_model.pod import Pod, PodMetric, PodUsage


class MetricsClient(Protocol):
    """The pod lister and the resource, custom and external metrics APIs, for one target."""

    def pods(self) -> Sequence[Pod]:
        """The pods the scale target's selector matches."""
        ...

    def resource_usage(self, resource: str) -> Sequence[PodUsage]:
        """``metrics.k8s.io`` PodMetrics for the target's pods (metrics-server)."""
        ...

    def pods_metric(self, spec: MetricSpec) -> Mapping[str, PodMetric]:
        """``custom.metrics.k8s.io`` per-pod values of a Pods metric, by pod name."""
        ...

    def object_metric(self, spec: MetricSpec) -> int:
        """``custom.metrics.k8s.io`` value of an Object metric (milli-units)."""
        ...

    def external_metric(self, spec: MetricSpec) -> Sequence[int]:
        """``external.metrics.k8s.io`` values of every series matching the selector (milli)."""
        ...


@dataclass(frozen=True)
class StaticMetrics:
    """A ``MetricsClient`` answering from fixed values; names in ``failing`` raise."""

    pod_list: Sequence[Pod] = ()
    resources: Mapping[str, Sequence[PodUsage]] = field(default_factory=dict)
    pod_metrics: Mapping[str, Mapping[str, PodMetric]] = field(default_factory=dict)
    objects: Mapping[str, int] = field(default_factory=dict)
    externals: Mapping[str, Sequence[int]] = field(default_factory=dict)
    failing: frozenset[str] = frozenset()

    def _check(self, name: str) -> None:
        if name in self.failing:
            raise MetricsUnavailableError(f"unable to fetch metric {name}: something went wrong")

    def pods(self) -> Sequence[Pod]:
        """The fixed pod list."""
        return self.pod_list

    def resource_usage(self, resource: str) -> Sequence[PodUsage]:
        """The fixed PodMetrics for ``resource`` (none when not given)."""
        self._check(resource)
        return self.resources.get(resource, ())

    def pods_metric(self, spec: MetricSpec) -> Mapping[str, PodMetric]:
        """The fixed per-pod values of ``spec.name`` (none when not given)."""
        self._check(spec.name)
        return self.pod_metrics.get(spec.name, {})

    def object_metric(self, spec: MetricSpec) -> int:
        """The fixed value of ``spec.name``; unknown names raise."""
        self._check(spec.name)
        if spec.name not in self.objects:
            raise MetricsUnavailableError(f"unable to fetch metric {spec.name}")
        return self.objects[spec.name]

    def external_metric(self, spec: MetricSpec) -> Sequence[int]:
        """The fixed series values of ``spec.name`` (none when not given)."""
        self._check(spec.name)
        return self.externals.get(spec.name, ())
