"""The load-generator layer: Locust master and workers (and the optional Bot API emulator) in
the cluster, off by default."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from infra.components._resource import k8s_resource

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class LoadGeneratorArgs:
    """The objects from ``infra.manifests.loadgen`` and what they need first."""

    provider: k8s.Provider
    objects: list[dict[str, Any]]
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class LoadGenerator(pulumi.ComponentResource):
    """Locust master Job + worker Deployment (+ emulator) against the bot's Service."""

    resources: dict[str, pulumi.Resource]

    def __init__(
        self, name: str, args: LoadGeneratorArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("tgscale:k8s:LoadGenerator", name, None, opts)
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=args.depends_on
        )
        self.resources = {
            f"{obj['kind']}/{obj['metadata']['name']}": k8s_resource(
                f"loadgen-{obj['kind'].lower()}-{obj['metadata']['labels']['app.kubernetes.io/component']}",
                obj,
                child,
            )
            for obj in args.objects
        }
        self.register_outputs({})
