"""The bot layer: Secret, migration Job, Deployment, Service, PDB, NetworkPolicy, Ingress,
ServiceMonitor and the set-webhook Job, in the order a deploy needs them.

The migration Job completes before the Deployment rolls (``depends_on``; Pulumi awaits Jobs).
The Deployment ignores ``spec.replicas``: the autoscaler owns it. The set-webhook Job runs after
the new pods are ready, once per deploy (its name changes with the image and the URL).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from infra.components._resource import k8s_resource

#: Pod-template annotation carrying the checksum of the secrets the pods read.
CHECKSUM_ANNOTATION = "checksum/secrets"

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class BotServiceArgs:
    """Objects from ``infra.manifests.bot`` plus the secret values and what they depend on."""

    provider: k8s.Provider
    secret: dict[str, Any]
    migration_job: dict[str, Any]
    objects: list[dict[str, Any]]
    set_webhook_job: dict[str, Any] | None
    bot_token: pulumi.Output[str]
    webhook_secret: pulumi.Output[str]
    database: pulumi.Resource
    monitoring_chart: pulumi.Resource | None = None
    namespaces: list[pulumi.Resource] = field(default_factory=list)
    db_password: pulumi.Output[str] | None = None
    #: Extra pod-template annotations of the Deployment (kind: the local image's ID).
    pod_annotations: dict[str, pulumi.Output[str]] = field(default_factory=dict)


def _secret_data(
    token: pulumi.Output[str], webhook_secret: pulumi.Output[str]
) -> pulumi.Output[dict[str, str]]:
    """The bot Secret's ``stringData``, marked secret whatever its inputs were."""

    def to_data(values: list[str]) -> dict[str, str]:
        return {"BOT_TOKEN": values[0], "BOT_WEBHOOK_SECRET": values[1]}

    return pulumi.Output.secret(pulumi.Output.all(token, webhook_secret).apply(to_data))


def _secrets_checksum(*values: pulumi.Output[str]) -> pulumi.Output[str]:
    """A SHA-256 over the secret values: a rotated secret changes the pod template and rolls
    the pods (env from a Secret is read only at container start)."""

    def digest(parts: list[str]) -> str:
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    return pulumi.Output.unsecret(pulumi.Output.all(*values).apply(digest))


def _with_pod_annotations(
    deployment: dict[str, Any], annotations: dict[str, pulumi.Output[str]]
) -> dict[str, Any]:
    template = deployment["spec"]["template"]
    metadata = template["metadata"] | {
        "annotations": {**template["metadata"].get("annotations", {}), **annotations}
    }
    spec = deployment["spec"] | {"template": template | {"metadata": metadata}}
    return deployment | {"spec": spec}


class BotService(pulumi.ComponentResource):
    """The autoscaled webhook bot; ``resources`` maps kind/name to the created resource."""

    resources: dict[str, pulumi.Resource]
    deployment: pulumi.Resource
    migration: pulumi.Resource

    def __init__(self, name: str, args: BotServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tgscale:k8s:BotService", name, None, opts)
        self.resources = {}

        def opts_for(*depends_on: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[*args.namespaces, *depends_on],
                **extra,
            )

        string_data = _secret_data(args.bot_token, args.webhook_secret)
        secret = k8s_resource(
            "bot-secret",
            args.secret | {"stringData": string_data},
            opts_for(additional_secret_outputs=["stringData", "data"]),
        )
        self.migration = k8s_resource(
            "bot-migrate", args.migration_job, opts_for(secret, args.database)
        )
        self.resources["Secret/" + args.secret["metadata"]["name"]] = secret
        self.resources["Job/migrate"] = self.migration
        for obj in args.objects:
            kind = obj["kind"]
            depends: list[pulumi.Resource] = [secret]
            extra: dict[str, Any] = {}
            if kind == "Deployment":
                depends.append(self.migration)
                extra["ignore_changes"] = ["spec.replicas"]
                secrets = [args.bot_token, args.webhook_secret]
                secrets += [args.db_password] if args.db_password is not None else []
                obj = _with_pod_annotations(
                    obj, {CHECKSUM_ANNOTATION: _secrets_checksum(*secrets), **args.pod_annotations}
                )
            elif kind == "ServiceMonitor" and args.monitoring_chart is not None:
                depends.append(args.monitoring_chart)
            resource = k8s_resource(f"bot-{kind.lower()}", obj, opts_for(*depends, **extra))
            self.resources[f"{kind}/{obj['metadata']['name']}"] = resource
            if kind == "Deployment":
                self.deployment = resource
        if args.set_webhook_job is not None:
            self.resources["Job/set-webhook"] = k8s_resource(
                "bot-set-webhook", args.set_webhook_job, opts_for(self.deployment)
            )
        self.register_outputs({})
