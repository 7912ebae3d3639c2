"""Install a pinned :class:`~infra.manifests.platform.ChartSpec` with ``helm.v4.Chart``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi_kubernetes as k8s

if TYPE_CHECKING:
    import pulumi

    from infra.manifests.platform import ChartSpec


def helm_chart(
    spec: ChartSpec, opts: pulumi.ResourceOptions, values: dict[str, Any] | None = None
) -> k8s.helm.v4.Chart:
    """A ``helm.v4.Chart`` for ``spec``; ``values`` (e.g. with secret Outputs) replace spec's."""
    return k8s.helm.v4.Chart(
        spec.resource_name,
        chart=spec.chart,
        name=spec.release_name,
        version=spec.version,
        namespace=spec.namespace,
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=spec.repo),
        values=values if values is not None else spec.values,
        opts=opts,
    )
