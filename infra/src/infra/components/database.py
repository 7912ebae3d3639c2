"""The database layer: the CloudNativePG operator, the Cluster, the PgBouncer Pooler and the
PodMonitors. Custom resources depend on the operator chart (CRDs) and on the monitoring chart."""

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
class DatabaseArgs:
    """The operator chart, the objects, and the CRD providers they depend on."""

    provider: k8s.Provider
    namespaces: list[pulumi.Resource]
    #: The operator chart (a platform stack); None in an app stack, whose platform has it.
    operator_chart: ChartSpec | None
    objects: list[dict[str, Any]]
    monitoring_chart: pulumi.Resource | None = None
    #: Secret name → values to merge into its ``stringData`` (the password, the backup keys).
    secret_values: dict[str, pulumi.Output[dict[str, str]]] = field(default_factory=dict)
    extra_depends_on: list[pulumi.Resource] = field(default_factory=list)


def _with_values(
    string_data: dict[str, str], values: pulumi.Output[dict[str, str]]
) -> pulumi.Output[dict[str, str]]:
    """A Secret's ``stringData`` with the secret values added, kept secret."""
    return pulumi.Output.secret(values.apply(lambda extra: {**string_data, **extra}))


class Database(pulumi.ComponentResource):
    """PostgreSQL through CloudNativePG; ``resources`` maps kind/name to the created resource."""

    operator: k8s.helm.v4.Chart | None
    resources: dict[str, pulumi.Resource]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tgscale:k8s:Database", name, None, opts)
        crd_sources: list[pulumi.Resource] = [*args.namespaces, *args.extra_depends_on]
        if args.monitoring_chart is not None:
            # The operator's own PodMonitor needs the monitoring CRDs.
            crd_sources.append(args.monitoring_chart)
        self.operator = None
        if args.operator_chart is not None:
            self.operator = helm_chart(
                args.operator_chart,
                pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=crd_sources),
            )
        operator = [self.operator] if self.operator is not None else []
        self.resources = {}
        for obj in args.objects:
            kind, obj_name = obj["kind"], obj["metadata"]["name"]
            if kind == "Secret" and obj_name in args.secret_values:
                values = args.secret_values[obj_name]
                obj = obj | {"stringData": _with_values(obj.get("stringData", {}), values)}
            resource = k8s_resource(
                f"{kind.lower()}-{obj_name}",
                obj,
                pulumi.ResourceOptions(
                    parent=self,
                    provider=args.provider,
                    depends_on=[*operator, *crd_sources, *self.resources.values()],
                    additional_secret_outputs=["stringData", "data"] if kind == "Secret" else None,
                ),
            )
            self.resources[f"{kind}/{obj_name}"] = resource
        self.register_outputs({})
