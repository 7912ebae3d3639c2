"""Wrap a plain object dict in the matching pulumi-kubernetes resource.

Built-in kinds get their typed class (so Pulumi's await logic and replacement rules apply);
custom resources become ``apiextensions.CustomResource``. Nested keys stay camelCase: the SDK
passes dict inputs through unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi_kubernetes as k8s

if TYPE_CHECKING:
    import pulumi

_BUILT_IN: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
}
#: Top-level fields of built-in objects whose Python argument name differs.
_ARG_NAMES = {"stringData": "string_data"}


def k8s_resource(name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """Create the Pulumi resource for ``obj`` under the stable logical ``name``.

    Args:
        name: The Pulumi resource name (kebab-case, stable across deploys).
        obj: A full object dict (apiVersion, kind, metadata, ...).
        opts: Options carrying the provider, parent and dependencies.
    """
    api_version, kind = obj["apiVersion"], obj["kind"]
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    cls = _BUILT_IN.get((api_version, kind))
    if cls is None:
        return k8s.apiextensions.CustomResource(
            name, api_version=api_version, kind=kind, opts=opts, **fields
        )
    kwargs = {_ARG_NAMES.get(key, key): value for key, value in fields.items()}
    resource: pulumi.Resource = cls(name, opts=opts, **kwargs)
    return resource
