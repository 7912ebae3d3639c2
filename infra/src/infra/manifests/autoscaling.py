"""Autoscaler objects: an autoscaling/v2 HPA on CPU, or a KEDA ScaledObject (Prometheus in-flight
per pod, a CPU guard, cron triggers for known peaks), plus an optional recommendation-only VPA.

Never both an HPA and a ScaledObject on one Deployment: KEDA creates its own HPA. Both modes
name that HPA ``tgbot``: switching a live stack from hpa to keda, the ScaledObject takes over the
existing HPA (KEDA's ``transfer-hpa-ownership``) instead of being refused by KEDA's webhook as
"already managed by the hpa tgbot"; the program keeps the old HPA resource ``retainOnDelete`` so
Pulumi's late delete does not remove the HPA KEDA now owns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot_contract import metrics
from infra.manifests import _meta

if TYPE_CHECKING:
    from infra.config import StackConfig

#: Downscale policies act on this period; one minute keeps removals gradual after the window.
SCALE_DOWN_PERIOD_SECONDS = 60
#: KEDA adopts an existing HPA of the name in ``horizontalPodAutoscalerConfig.name``.
TRANSFER_HPA_OWNERSHIP = "scaledobject.keda.sh/transfer-hpa-ownership"


def _target_ref(api_key: str = "apiVersion") -> dict[str, str]:
    return {api_key: "apps/v1", "kind": "Deployment", "name": _meta.BOT}


def behavior(cfg: StackConfig) -> dict[str, Any]:
    """Fast scale-up (Pods and Percent policies, Max wins), stabilized gradual scale-down."""
    scaling = cfg.autoscaling
    period = scaling.scale_up_period_seconds
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": scaling.scale_up_pods, "periodSeconds": period},
                {"type": "Percent", "value": scaling.scale_up_percent, "periodSeconds": period},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": scaling.scale_down_stabilization_seconds,
            "selectPolicy": "Max",
            "policies": [
                {
                    "type": "Percent",
                    "value": scaling.scale_down_percent,
                    "periodSeconds": SCALE_DOWN_PERIOD_SECONDS,
                }
            ],
        },
    }


def hpa(cfg: StackConfig) -> dict[str, Any]:
    """autoscaling/v2 HPA on CPU utilization (relative to the request); needs metrics-server."""
    scaling = cfg.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta.metadata(cfg, _meta.BOT, "bot"),
        "spec": {
            "scaleTargetRef": _target_ref(),
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_utilization,
                        },
                    },
                }
            ],
            "behavior": behavior(cfg),
        },
    }


def prometheus_url(cfg: StackConfig) -> str:
    """The in-cluster Prometheus of kube-prometheus-stack (``fullnameOverride`` = release)."""
    return f"http://{cfg.monitoring.release}-prometheus.{cfg.monitoring.namespace}.svc:9090"


def inflight_query(cfg: StackConfig) -> str:
    """The fleet's in-flight updates; KEDA's AverageValue divides it by the threshold."""
    series = metrics.UPDATES_IN_FLIGHT.series
    return f'sum({series}{{namespace="{cfg.namespace}", service="{_meta.BOT}"}})'


def scaled_object(cfg: StackConfig) -> dict[str, Any]:
    """KEDA ScaledObject: in-flight per pod, CPU as a guard, cron for known peak hours."""
    scaling = cfg.autoscaling
    triggers: list[dict[str, Any]] = [
        {
            "type": "prometheus",
            "name": "inflight-per-pod",
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": prometheus_url(cfg),
                "query": inflight_query(cfg),
                "threshold": str(scaling.target_inflight_per_pod),
            },
        },
        {
            "type": "cpu",
            "name": "cpu-guard",
            "metricType": "Utilization",
            "metadata": {"value": str(scaling.target_cpu_utilization)},
        },
    ]
    triggers += [
        {
            "type": "cron",
            "name": f"peak-{index}",
            "metadata": {
                "timezone": scaling.peak_timezone,
                "start": peak.start,
                "end": peak.end,
                "desiredReplicas": str(peak.replicas),
            },
        }
        for index, peak in enumerate(scaling.peak_schedules)
    ]
    # No `fallback`: KEDA rejects it on a ScaledObject with a cpu trigger.
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": _meta.metadata(
            cfg, _meta.BOT, "bot", annotations={TRANSFER_HPA_OWNERSHIP: "true"}
        ),
        "spec": {
            "scaleTargetRef": _target_ref(),
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "pollingInterval": scaling.keda_polling_interval,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    # The hpa mode's HPA name, so a switch adopts it (and the gates find it).
                    "name": _meta.BOT,
                    "behavior": behavior(cfg),
                }
            },
            "triggers": triggers,
        },
    }


def vertical_pod_autoscaler(cfg: StackConfig) -> dict[str, Any] | None:
    """Recommendation-only VPA: ``updateMode: "Off"`` never evicts or resizes, so it cannot
    fight the HPA on CPU; read its advice with ``kubectl describe vpa``."""
    if not cfg.autoscaling.vpa_enabled:
        return None
    return {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": _meta.metadata(cfg, _meta.BOT, "bot"),
        "spec": {
            "targetRef": _target_ref(),
            "updatePolicy": {"updateMode": "Off"},
            "resourcePolicy": {
                "containerPolicies": [
                    {"containerName": "bot", "controlledResources": ["cpu", "memory"]}
                ]
            },
        },
    }


def autoscaler_objects(cfg: StackConfig) -> list[dict[str, Any]]:
    """The objects the chosen autoscaler mode needs."""
    main = hpa(cfg) if cfg.autoscaling.mode == "hpa" else scaled_object(cfg)
    vpa = vertical_pod_autoscaler(cfg)
    return [main] + ([vpa] if vpa else [])
