"""The dashboards layer: dashboard ConfigMaps for Grafana's sidecar and the PrometheusRule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from infra.components._resource import k8s_resource

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class DashboardsArgs:
    """The objects from ``infra.manifests.observability`` and the monitoring chart (CRDs)."""

    provider: k8s.Provider
    objects: list[dict[str, Any]]
    #: kube-prometheus-stack (the CRDs) in this stack; None where a platform stack has it.
    monitoring_chart: pulumi.Resource | None
    namespaces: list[pulumi.Resource] = field(default_factory=list)


class Dashboards(pulumi.ComponentResource):
    """Grafana dashboards and Prometheus rules as cluster objects."""

    resources: dict[str, pulumi.Resource]

    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tgscale:k8s:Dashboards", name, None, opts)
        child = pulumi.ResourceOptions(
            parent=self,
            provider=args.provider,
            depends_on=[
                *([args.monitoring_chart] if args.monitoring_chart else []),
                *args.namespaces,
            ],
        )
        self.resources = {
            f"{obj['kind']}/{obj['metadata']['name']}": k8s_resource(
                f"{obj['kind'].lower()}-{obj['metadata']['name']}", obj, child
            )
            for obj in args.objects
        }
        self.register_outputs({})
