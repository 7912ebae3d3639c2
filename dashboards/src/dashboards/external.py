"""Metric names that tgscale does not export itself, used by the autoscaling views and rules.

The bot, the load suite and the emulator export only names from :mod:`bot_contract.metrics`.
A cluster adds series from three other exporters, which kube-prometheus-stack and KEDA install;
every name the dashboards or rules use from them is listed here, once, with its source, so the
metric-name test can tell a typo from a real external series.

* kube-state-metrics (object state): https://github.com/kubernetes/kube-state-metrics/tree/main/docs
* cAdvisor through the kubelet (container usage): scraped by kube-prometheus-stack's ``kubelet`` job
* KEDA operator (scaler values): https://keda.sh/docs/latest/integrations/prometheus/
* Prometheus itself: ``up``, the per-target health series every scrape writes.
"""

from typing import Final

# --- kube-state-metrics: HorizontalPodAutoscaler (KEDA's ScaledObject creates one too) ---------
HPA_DESIRED: Final = "kube_horizontalpodautoscaler_status_desired_replicas"
HPA_CURRENT: Final = "kube_horizontalpodautoscaler_status_current_replicas"
HPA_MIN: Final = "kube_horizontalpodautoscaler_spec_min_replicas"
HPA_MAX: Final = "kube_horizontalpodautoscaler_spec_max_replicas"
#: The target of each HPA metric (labels ``metric_name``, ``metric_target_type``).
HPA_TARGET_METRIC: Final = "kube_horizontalpodautoscaler_spec_target_metric"
#: The current value of each HPA metric, as the controller last saw it.
HPA_STATUS_METRIC: Final = "kube_horizontalpodautoscaler_status_target_metric"

# --- kube-state-metrics: Deployment and pod resources --------------------------------------------
DEPLOYMENT_AVAILABLE: Final = "kube_deployment_status_replicas_available"
POD_REQUESTS: Final = "kube_pod_container_resource_requests"
POD_LIMITS: Final = "kube_pod_container_resource_limits"

# --- cAdvisor (kubelet) ---------------------------------------------------------------------------
CONTAINER_CPU: Final = "container_cpu_usage_seconds_total"
CONTAINER_MEMORY: Final = "container_memory_working_set_bytes"

# --- KEDA operator ---------------------------------------------------------------------------
#: The value KEDA's scaler read for a ScaledObject's trigger (labels ``scaledObject``, ``metric``).
KEDA_SCALER_VALUE: Final = "keda_scaler_metrics_value"

# --- Prometheus ------------------------------------------------------------------------------
UP: Final = "up"

#: Series that only exist on a Kubernetes cluster (no local process exports them).
CLUSTER_ONLY: Final[frozenset[str]] = frozenset(
    {
        HPA_DESIRED,
        HPA_CURRENT,
        HPA_MIN,
        HPA_MAX,
        HPA_TARGET_METRIC,
        HPA_STATUS_METRIC,
        DEPLOYMENT_AVAILABLE,
        POD_REQUESTS,
        POD_LIMITS,
        CONTAINER_CPU,
        CONTAINER_MEMORY,
        KEDA_SCALER_VALUE,
    }
)

#: Every external name the dashboards and rules may use.
EXTERNAL_SERIES: Final[frozenset[str]] = CLUSTER_ONLY | {UP}
