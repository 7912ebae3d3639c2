"""A model of Kubernetes' HorizontalPodAutoscaler controller and of KEDA's ScaledObject.

Transcribed from kubernetes ``pkg/controller/podautoscaler`` (``replica_calculator.go``,
``horizontal.go``, ``metrics/``) and kedacore/keda (``controllers/keda/hpa.go``,
``pkg/scaling/``); see the README for the exact sources. Standard library only, no clock:
every call takes ``now``. ``HorizontalController.reconcile`` is one 15-second sync of one HPA.
"""

from autoscaler_model.autoscaler import Autoscaler
from autoscaler_model.behavior import (
    Behavior,
    PolicyType,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
)
from autoscaler_model.controller import (
    ControllerConfig,
    HorizontalController,
    MetricStatus,
    Reconciliation,
    Scale,
)
from autoscaler_model.errors import MetricsUnavailableError, ReplicaCalculationError
from autoscaler_model.hpa import (
    HPASpec,
    MetricSourceType,
    MetricSpec,
    MetricTarget,
    ObjectReference,
)
from autoscaler_model.keda import (
    Fallback,
    FallbackBehavior,
    KedaDecision,
    KedaMetrics,
    ScaledObjectSpec,
    ScaledObjectState,
    Trigger,
)
from autoscaler_model.metrics_client import MetricsClient, StaticMetrics
from autoscaler_model.pod import Pod, PodMetric, PodPhase, PodUsage
from autoscaler_model.quantity import milli_value, parse_quantity
from autoscaler_model.replica_calculator import ReplicaCalculator
from autoscaler_model.tolerance import Tolerances

__all__ = [
    "Autoscaler",
    "Behavior",
    "ControllerConfig",
    "Fallback",
    "FallbackBehavior",
    "HPASpec",
    "HorizontalController",
    "KedaDecision",
    "KedaMetrics",
    "MetricSourceType",
    "MetricSpec",
    "MetricStatus",
    "MetricTarget",
    "MetricsClient",
    "MetricsUnavailableError",
    "ObjectReference",
    "Pod",
    "PodMetric",
    "PodPhase",
    "PodUsage",
    "PolicyType",
    "Reconciliation",
    "ReplicaCalculationError",
    "ReplicaCalculator",
    "Scale",
    "ScaleEvent",
    "ScaledObjectSpec",
    "ScaledObjectState",
    "ScalingPolicy",
    "ScalingRules",
    "SelectPolicy",
    "StaticMetrics",
    "Tolerances",
    "Trigger",
    "milli_value",
    "parse_quantity",
]
