"""The monitoring layer: metrics-server where the cluster lacks one, and kube-prometheus-stack."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

# Pulumi evaluates ComponentResource class annotations at run time, so no TYPE_CHECKING here.
import pulumi_kubernetes as k8s  # noqa: TC002

from infra.components._chart import helm_chart
from infra.components._resource import k8s_resource
from infra.manifests.observability import ALERTMANAGER_KEY, alertmanager_config

if TYPE_CHECKING:
    from infra.manifests.platform import ChartSpec


@dataclass(frozen=True)
class MonitoringArgs:
    """Charts to install, the provider and namespaces, and an optional Grafana admin password."""

    provider: k8s.Provider
    namespaces: list[pulumi.Resource]
    kube_prometheus_stack: ChartSpec | None
    metrics_server: ChartSpec | None
    grafana_admin_password: pulumi.Output[str] | None = None
    #: Alertmanager's configuration Secret (kps reads it through ``useExistingSecret``).
    alertmanager_secret: dict[str, Any] | None = None
    alertmanager_webhook_url: pulumi.Output[str] | None = None


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack (and metrics-server); ``chart`` provides the monitoring CRDs."""

    chart: k8s.helm.v4.Chart | None
    metrics_server: k8s.helm.v4.Chart | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tgscale:k8s:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=args.namespaces
        )
        self.metrics_server = (
            helm_chart(args.metrics_server, child) if args.metrics_server else None
        )
        self.chart = None
        if args.alertmanager_secret is not None:
            url = args.alertmanager_webhook_url or pulumi.Output.from_input("")
            config: pulumi.Output[dict[str, str]] = url.apply(
                lambda value: {ALERTMANAGER_KEY: alertmanager_config(value or None)}
            )
            config = pulumi.Output.secret(config)
            k8s_resource(
                "alertmanager-config",
                args.alertmanager_secret | {"stringData": config},
                pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(additional_secret_outputs=["stringData", "data"])
                ),
            )
        if args.kube_prometheus_stack:
            values = copy.deepcopy(args.kube_prometheus_stack.values)
            if args.grafana_admin_password is not None:
                values["grafana"]["adminPassword"] = args.grafana_admin_password
            self.chart = helm_chart(args.kube_prometheus_stack, child, values)
        self.register_outputs({})
