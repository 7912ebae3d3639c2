"""What a cluster runs for one Deployment, from its manifest: an HPA, or KEDA plus its HPA.

The entry point for the local controller and the what-if: ``Autoscaler.from_manifest`` takes
the object infra renders (``autoscaling/v2`` HorizontalPodAutoscaler or ``keda.sh/v1alpha1``
ScaledObject); ``sync`` is the HPA's 15-second reconcile, ``poll`` KEDA's ``pollingInterval``
tick (``None`` for a plain HPA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoscaler_model.controller import (
    ControllerConfig,
    HorizontalController,
    Reconciliation,
    Scale,
)
from autoscaler_model.hpa import HPASpec
from autoscaler_model.keda import KedaDecision, KedaMetrics, ScaledObjectSpec, ScaledObjectState

if TYPE_CHECKING:
    from collections.abc import Mapping

    from autoscaler_model.metrics_client import MetricsClient

HPA_KIND = "HorizontalPodAutoscaler"
SCALED_OBJECT_KIND = "ScaledObject"


@dataclass
class Autoscaler:
    """One Deployment's autoscaling: the HPA controller's state and, with KEDA, the operator's."""

    controller: HorizontalController
    keda: ScaledObjectState | None = None

    @property
    def hpa(self) -> HPASpec:
        """The HPA that runs: the manifest's, or the one KEDA creates from the ScaledObject."""
        return self.controller.hpa

    @classmethod
    def from_manifest(
        cls,
        manifest: Mapping[str, Any],
        config: ControllerConfig | None = None,
        created_at: float = 0.0,
    ) -> Autoscaler:
        """Build from a rendered HPA or ScaledObject (``created_at`` feeds KEDA's initial
        cooldown); any other kind is a clear error."""
        config = config or ControllerConfig()
        kind = manifest.get("kind")
        if kind == HPA_KIND:
            return cls(HorizontalController(HPASpec.from_manifest(manifest), config))
        if kind == SCALED_OBJECT_KIND:
            spec = ScaledObjectSpec.from_manifest(manifest)
            return cls(
                HorizontalController(spec.hpa(), config), ScaledObjectState(spec, created_at)
            )
        raise ValueError(
            f"not an autoscaler object: kind {kind!r} (want {HPA_KIND} or ScaledObject)"
        )

    def sync(
        self,
        scale: Scale,
        metrics: MetricsClient,
        now: float,
        readings: Mapping[str, float | None] | None = None,
        ready_replicas: int | None = None,
    ) -> Reconciliation:
        """One HPA sync; with KEDA its external metrics are KEDA's metrics server answering from
        the triggers' ``readings`` at ``now`` (a trigger without a reading fails)."""
        if self.keda is not None:
            metrics = KedaMetrics(
                metrics,
                self.keda,
                readings or {},
                now,
                scale.spec_replicas,
                scale.status_replicas if ready_replicas is None else ready_replicas,
            )
        return self.controller.reconcile(scale, metrics, now)

    def poll(
        self,
        readings: Mapping[str, float | None],
        now: float,
        current_replicas: int,
        ready_replicas: int,
    ) -> KedaDecision | None:
        """One KEDA poll (activation, 0 ↔ min, cooldown); ``None`` without KEDA."""
        if self.keda is None:
            return None
        return self.keda.poll(readings, now, current_replicas, ready_replicas)
