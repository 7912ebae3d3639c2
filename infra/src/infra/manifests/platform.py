"""Platform pieces: the namespaces and the pinned Helm charts (kube-prometheus-stack,
metrics-server, CloudNativePG, KEDA) with their values, as plain data.

The chart values carry the pitfalls' fixes: kube-prometheus-stack's admission-webhook cert Jobs are
Helm hooks that ``helm.v4.Chart`` never runs, so the webhooks (and the operator TLS that needs
their Secret) are off; the ``*SelectorNilUsesHelmValues`` flags are off so Prometheus selects
every ServiceMonitor, PodMonitor and PrometheusRule in every namespace; Grafana's sidecar loads
every ConfigMap labelled ``grafana_dashboard: "1"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from infra.config import MANAGED_MODES
from infra.manifests import _meta, observability

if TYPE_CHECKING:
    from infra.config import StackConfig

CNPG_NAMESPACE: Final = "cnpg-system"
KEDA_NAMESPACE: Final = "keda"
VPA_NAMESPACE: Final = "vpa"


@dataclass(frozen=True)
class ChartSpec:
    """One pinned Helm chart as ``helm.v4.Chart`` takes it."""

    resource_name: str
    chart: str
    repo: str
    version: str
    namespace: str
    values: dict[str, Any] = field(default_factory=dict)
    #: The Helm release name (names the chart's objects); defaults to ``resource_name``.
    release: str = ""

    @property
    def release_name(self) -> str:
        """The release name Helm renders the chart with."""
        return self.release or self.resource_name


def namespaces(cfg: StackConfig) -> list[dict[str, Any]]:
    """The stack's namespaces: the bot's (restricted Pod Security) in an app stack, monitoring's
    and the operators' in a platform stack (both with ``stackRole=all``)."""
    names = [(cfg.namespace, True)] if cfg.has_app else []
    if cfg.has_platform:
        names.append((CNPG_NAMESPACE, False))
        if cfg.monitoring.enabled:
            names.append((cfg.monitoring.namespace, False))
        if cfg.autoscaling.mode == "keda":
            names.append((KEDA_NAMESPACE, False))
        if cfg.autoscaling.vpa_enabled:
            names.append((VPA_NAMESPACE, False))
    out = []
    for name, restricted in names:
        extra = {"pod-security.kubernetes.io/enforce": "restricted"} if restricted else {}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": name,
                    "labels": _meta.labels(cfg, "namespace") | extra,
                },
            }
        )
    return out


def prometheus_selects_all(values: dict[str, Any]) -> bool:
    """Whether these kps values make Prometheus select monitors without the release label."""
    spec = values["prometheus"]["prometheusSpec"]
    return all(
        spec.get(f"{kind}SelectorNilUsesHelmValues") is False
        and spec.get(f"{kind}NamespaceSelector") == {}
        for kind in ("serviceMonitor", "podMonitor", "rule")
    )


def kube_prometheus_stack(cfg: StackConfig) -> ChartSpec:
    """kube-prometheus-stack: Prometheus, Grafana, kube-state-metrics, node-exporter."""
    mon = cfg.monitoring
    values: dict[str, Any] = {
        # Stable Service names: <release>-prometheus, <release>-operator; Grafana <release>-grafana.
        "fullnameOverride": cfg.monitoring.release,
        "crds": {"enabled": True, "upgradeJob": {"enabled": False}},
        "prometheusOperator": {
            "admissionWebhooks": {"enabled": False, "patch": {"enabled": False}},
            "tls": {"enabled": False},
        },
        "prometheus": {
            "prometheusSpec": {
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "serviceMonitorNamespaceSelector": {},
                "podMonitorSelectorNilUsesHelmValues": False,
                "podMonitorNamespaceSelector": {},
                "ruleSelectorNilUsesHelmValues": False,
                "ruleNamespaceSelector": {},
                "retention": mon.prometheus_retention,
                "retentionSize": mon.prometheus_retention_size,
                "storageSpec": _volume_claim(mon.prometheus_storage),
                "scrapeInterval": "15s",
            }
        },
        "alertmanager": {
            "alertmanagerSpec": {
                # The configuration (and its receiver's secret URL) comes from our Secret.
                "useExistingSecret": True,
                "configSecret": observability.ALERTMANAGER_SECRET,
                "retention": mon.alertmanager_retention,
                "storage": _volume_claim(mon.alertmanager_storage),
            }
        },
        "grafana": {
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": _meta.DASHBOARD_LABEL,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            }
        },
    }
    if not cfg.monitoring.control_plane_monitors:
        for component in ("kubeEtcd", "kubeControllerManager", "kubeScheduler", "kubeProxy"):
            values[component] = {"enabled": False}
    return ChartSpec(
        resource_name="kube-prometheus-stack",
        chart="kube-prometheus-stack",
        repo="https://prometheus-community.github.io/helm-charts",
        version=cfg.monitoring.chart_version,
        namespace=cfg.monitoring.namespace,
        values=values,
        # Grafana's Service is <release>-grafana; the rest follow fullnameOverride.
        release=cfg.monitoring.release,
    )


def _volume_claim(size: str) -> dict[str, Any]:
    """A ``storageSpec``/``storage`` for the Prometheus operator: one PVC per replica."""
    return {
        "volumeClaimTemplate": {
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
        }
    }


def metrics_server(cfg: StackConfig) -> ChartSpec | None:
    """metrics-server for clusters without one (kind and DOKS ship none)."""
    if not cfg.monitoring.metrics_server:
        return None
    return ChartSpec(
        resource_name="metrics-server",
        chart="metrics-server",
        repo="https://kubernetes-sigs.github.io/metrics-server/",
        version=cfg.monitoring.metrics_server_chart_version,
        namespace="kube-system",
        values=(
            # DigitalOcean's own metrics-server install (marketplace-kubernetes, chart 3.8.2):
            # the chart's defaults with two replicas; DOKS kubelets serve verifiable certificates.
            {"replicas": 2}
            if cfg.cluster.mode in MANAGED_MODES
            # kind's kubelets serve self-signed certificates.
            else {"args": ["--kubelet-insecure-tls"]}
        ),
    )


def cloudnative_pg(cfg: StackConfig) -> ChartSpec:
    """The CloudNativePG operator (cluster-wide); its PodMonitor and dashboard when monitored."""
    monitored = cfg.monitoring.enabled
    return ChartSpec(
        resource_name="cloudnative-pg",
        chart="cloudnative-pg",
        repo="https://cloudnative-pg.github.io/charts",
        version=cfg.database.chart_version,
        namespace=CNPG_NAMESPACE,
        values={
            "monitoring": {
                "podMonitorEnabled": monitored,
                "podMonitorAdditionalLabels": {"release": cfg.monitoring.release},
                "grafanaDashboard": {"create": monitored},
            }
        },
    )


def keda(cfg: StackConfig) -> ChartSpec | None:
    """KEDA, only for ``autoscaler=keda`` (it owns the external metrics API)."""
    if cfg.autoscaling.mode != "keda":
        return None
    return ChartSpec(
        resource_name="keda",
        chart="keda",
        repo="https://kedacore.github.io/charts",
        version=cfg.autoscaling.keda_chart_version,
        namespace=KEDA_NAMESPACE,
    )


def vpa(cfg: StackConfig) -> ChartSpec | None:
    """The VPA recommender only: no updater and no admission controller, so nothing ever
    evicts or resizes a pod (and the chart's certificate hook Jobs are not needed)."""
    if not cfg.autoscaling.vpa_enabled:
        return None
    return ChartSpec(
        resource_name="vpa",
        chart="vpa",
        repo="https://charts.fairwinds.com/stable",
        version=cfg.autoscaling.vpa_chart_version,
        namespace=VPA_NAMESPACE,
        values={
            "recommender": {"enabled": True},
            "updater": {"enabled": False},
            "admissionController": {"enabled": False},
        },
    )


def charts(cfg: StackConfig) -> list[ChartSpec]:
    """Every chart the configuration implies, in install order (a platform stack installs them;
    an app stack's configuration says which its platform must have)."""
    specs = [metrics_server(cfg)]
    if cfg.monitoring.enabled:
        specs.append(kube_prometheus_stack(cfg))
    specs += [cloudnative_pg(cfg), keda(cfg), vpa(cfg)]
    return [spec for spec in specs if spec is not None]
