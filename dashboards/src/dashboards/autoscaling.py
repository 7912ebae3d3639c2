"""The Autoscaling dashboard: replicas, the scaling signal against its target, pod resources
against requests, time at maxReplicas, and the backlog that scaling should relieve.

Replica and resource series come from kube-state-metrics and cAdvisor (names in
:mod:`dashboards.external`); they exist on a cluster only. The bot's own signal (in-flight per
ready pod) and the load suite's backlog exist everywhere.
"""

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard

from bot_contract import metrics as m
from dashboards import external as ext
from dashboards import rules
from dashboards.common import (
    PanelBuilder,
    dashboard,
    label_variable,
    query,
    selector,
    stat,
    timeseries,
    with_sections,
)

UID: Final = "tgbot-autoscaling"
_NS: Final = 'namespace=~"$namespace"'
_HPA: Final = f'{_NS}, horizontalpodautoscaler=~"$hpa"'
_POD: Final = f'{_NS}, pod=~"$pod"'
_CONTAINERS: Final = f'{_POD}, container!="", container!="POD"'


def _at_max() -> str:
    """1 while an HPA runs at its maxReplicas, else 0."""
    return (
        f"({ext.HPA_CURRENT}{{{_HPA}}} >= bool on (namespace, horizontalpodautoscaler) "
        f"{ext.HPA_MAX}{{{_HPA}}})"
    )


def _replicas() -> list[PanelBuilder]:
    return [
        timeseries(
            "Replicas: desired, current, available",
            "The HPA's desired and current replicas, the Deployment's available ones, and the "
            "HPA's bounds.",
            [
                query(f"sum({ext.HPA_DESIRED}{{{_HPA}}})", "desired"),
                query(f"sum({ext.HPA_CURRENT}{{{_HPA}}})", "current"),
                query(
                    f'sum({ext.DEPLOYMENT_AVAILABLE}{{{_NS}, deployment=~"$deployment"}})',
                    "available",
                ),
                query(f"sum({ext.HPA_MIN}{{{_HPA}}})", "minReplicas"),
                query(f"sum({ext.HPA_MAX}{{{_HPA}}})", "maxReplicas"),
                query(f"sum({selector(m.READY.series)})", "ready (bot)"),
            ],
            span=16,
        ),
        stat(
            "Time at maxReplicas",
            "Share of the time range the autoscaler ran at its maximum (alert after 10 min).",
            query(f"max(avg_over_time({_at_max()}[$__range:1m]))", instant=True),
            unit="percentunit",
            span=8,
            height=8,
            warn_at=0.01,
        ),
    ]


def _signal() -> list[PanelBuilder]:
    return [
        timeseries(
            "Autoscaler metric vs target",
            "What the HPA (or KEDA's HPA) reads and the target it compares with.",
            [
                query(
                    f"{ext.HPA_STATUS_METRIC}{{{_HPA}}}",
                    "{{horizontalpodautoscaler}} {{metric_name}} current",
                ),
                query(
                    f"{ext.HPA_TARGET_METRIC}{{{_HPA}}}",
                    "{{horizontalpodautoscaler}} {{metric_name}} target ({{metric_target_type}})",
                ),
                query(f"{ext.KEDA_SCALER_VALUE}{{{_NS}}}", "KEDA {{scaledObject}} {{metric}}"),
            ],
        ),
        timeseries(
            "Bot signal: in flight per ready pod",
            "The bot's own autoscaling signal (recorded); KEDA's trigger scales on it.",
            [
                query(f"{rules.IN_FLIGHT_PER_READY_POD}{{{_NS}}}", "in flight / ready pod"),
                query(f"max({selector(m.UPDATES_IN_FLIGHT_LIMIT.series)})", "per-pod limit"),
            ],
        ),
        timeseries(
            "At maxReplicas",
            "1 while the autoscaler runs at its maximum.",
            [query(_at_max(), "{{horizontalpodautoscaler}}")],
            span=24,
            height=5,
        ),
    ]


def _resources() -> list[PanelBuilder]:
    cpu = f"sum by (pod) (rate({ext.CONTAINER_CPU}{{{_CONTAINERS}}}[$__rate_interval]))"
    memory = f"sum by (pod) ({ext.CONTAINER_MEMORY}{{{_CONTAINERS}}})"

    def request(resource: str) -> str:
        return f'sum by (pod) ({ext.POD_REQUESTS}{{{_POD}, resource="{resource}"}})'

    return [
        timeseries(
            "CPU per pod / request",
            "CPU usage over the pod's request: what the HPA's CPU utilisation target compares.",
            [query(f"{cpu} / {request('cpu')}", "{{pod}}")],
            unit="percentunit",
        ),
        timeseries(
            "Memory per pod / request",
            "Working set over the pod's memory request.",
            [query(f"{memory} / {request('memory')}", "{{pod}}")],
            unit="percentunit",
        ),
    ]


def _backlog() -> list[PanelBuilder]:
    return [
        timeseries(
            "Pending updates",
            "Updates created but not yet acknowledged (load suite's getWebhookInfo view).",
            [query(f"sum({m.LOAD_PENDING.series})", "pending")],
        ),
        timeseries(
            "Delivery lag p95",
            "Update created → acknowledged, redeliveries included (recorded).",
            [query(f"max({rules.LAG_P95})", "p95 lag")],
            unit="s",
        ),
    ]


def autoscaling() -> Dashboard:
    """The Autoscaling dashboard (uid ``tgbot-autoscaling``)."""
    board = (
        dashboard(
            "tgscale / Autoscaling",
            UID,
            "Replicas, the scaling signal against its target, resources against requests, "
            "time at maxReplicas, pending-update lag.",
        )
        .with_variable(label_variable("namespace", "namespace", m.READY.series, title="Namespace"))
        .with_variable(
            label_variable(
                "hpa",
                "horizontalpodautoscaler",
                f"{ext.HPA_MAX}{{{_NS}}}",
                title="HPA",
            )
        )
        .with_variable(
            label_variable(
                "deployment",
                "deployment",
                f"{ext.DEPLOYMENT_AVAILABLE}{{{_NS}}}",
                title="Deployment",
            )
        )
        .with_variable(label_variable("pod", "pod", f"{m.READY.series}{{{_NS}}}", title="Pod"))
    )
    return with_sections(
        board,
        [
            ("Replicas", _replicas()),
            ("Scaling signal", _signal()),
            ("Resources against requests", _resources()),
            ("Backlog", _backlog()),
        ],
    )
