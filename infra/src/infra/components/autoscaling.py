"""The autoscaling layer: KEDA (for ``autoscaler=keda``) and the HPA or ScaledObject (plus the
optional recommendation-only VPA) targeting the bot's Deployment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

# Pulumi evaluates ComponentResource class annotations at run time, so no TYPE_CHECKING here.
import pulumi_kubernetes as k8s  # noqa: TC002

from infra.components._chart import helm_chart
from infra.components._resource import k8s_resource

if TYPE_CHECKING:
    from infra.manifests.platform import ChartSpec


@dataclass(frozen=True)
class AutoscalingArgs:
    """The autoscaler objects, the KEDA chart (keda mode) and the Deployment they target."""

    provider: k8s.Provider
    objects: list[dict[str, Any]]
    #: The bot's Deployment (None in a platform stack, which only installs the charts).
    deployment: pulumi.Resource | None
    keda_chart: ChartSpec | None = None
    vpa_chart: ChartSpec | None = None
    metrics_server: pulumi.Resource | None = None
    namespaces: list[pulumi.Resource] = field(default_factory=list)


class Autoscaling(pulumi.ComponentResource):
    """HPA or KEDA ScaledObject; never both on one Deployment."""

    keda: k8s.helm.v4.Chart | None
    vpa: k8s.helm.v4.Chart | None
    resources: dict[str, pulumi.Resource]

    def __init__(
        self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("tgscale:k8s:Autoscaling", name, None, opts)
        base = pulumi.ResourceOptions(parent=self, provider=args.provider)
        after_namespaces = pulumi.ResourceOptions.merge(
            base, pulumi.ResourceOptions(depends_on=args.namespaces)
        )
        self.keda = helm_chart(args.keda_chart, after_namespaces) if args.keda_chart else None
        self.vpa = helm_chart(args.vpa_chart, after_namespaces) if args.vpa_chart else None
        depends = [
            r for r in (args.deployment, self.keda, self.vpa, args.metrics_server) if r is not None
        ]
        self.resources = {
            f"{obj['kind']}/{obj['metadata']['name']}": k8s_resource(
                f"autoscaler-{obj['kind'].lower()}",
                obj,
                pulumi.ResourceOptions.merge(
                    base,
                    pulumi.ResourceOptions(
                        depends_on=depends,
                        # hpa → keda: KEDA adopts this HPA; Pulumi's delete (after the
                        # ScaledObject exists) must only forget it, not remove it.
                        retain_on_delete=obj["kind"] == "HorizontalPodAutoscaler",
                    ),
                ),
            )
            for obj in args.objects
        }
        self.register_outputs({})
