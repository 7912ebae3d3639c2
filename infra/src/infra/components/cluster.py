"""The cluster layer: a kind cluster (pulumi-command), an existing kubeconfig context, or DOKS,
and the one explicit Kubernetes provider every other layer uses, plus the namespaces.

Adding EKS or GKE is one more entry in ``_KUBECONFIG_SOURCES``: a function that creates the
cluster and returns its kubeconfig (``pulumi_eks.Cluster(...).kubeconfig_json``, or a GKE
kubeconfig using ``gke-gcloud-auth-plugin``) and a ``clusterMode`` value in ``Pulumi.yaml``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_command import local

from infra.components._resource import k8s_resource

if TYPE_CHECKING:
    from collections.abc import Callable

    from infra.config import ClusterConfig


@dataclass(frozen=True)
class ClusterArgs:
    """What the cluster layer needs: its config and the namespace objects to create."""

    config: ClusterConfig
    namespaces: list[dict[str, Any]]
    #: Locally built images to side-load into a kind cluster (``kind load docker-image``).
    local_images: list[str] = field(default_factory=list)
    #: An app stack's kubeconfig, read from its platform stack (no cluster is created).
    kubeconfig: pulumi.Output[str] | None = None


def _kind(cfg: ClusterConfig, parent: pulumi.Resource) -> pulumi.Output[str]:
    """Create a kind cluster and read its kubeconfig (needs Docker and the kind binary)."""
    create = local.Command(
        "kind-cluster",
        create=f"kind create cluster --name {cfg.name} --image {cfg.kind_node_image} --wait 120s",
        delete=f"kind delete cluster --name {cfg.name}",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    kubeconfig = local.Command(
        "kind-kubeconfig",
        create=f"kind get kubeconfig --name {cfg.name}",
        # The output is the cluster's admin key: never logged (pulumi-command logs stdout by
        # default) and stored encrypted in the state (Output.secret on the provider input would
        # not cover this resource's own stdout).
        logging=local.Logging.NONE,
        # A recreated cluster has new certificates: read them again.
        triggers=[create.id],
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[create], additional_secret_outputs=["stdout", "stderr"]
        ),
    )
    return pulumi.Output.secret(kubeconfig.stdout)


def _doks(cfg: ClusterConfig, parent: pulumi.Resource) -> pulumi.Output[str]:
    """Create a DigitalOcean Kubernetes cluster with an autoscaling node pool."""
    # Imported here: only managed stacks need it, and it is slow to load. Its package __init__
    # warns about deprecated modules we never use (DeprecationWarning at import time).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import pulumi_digitalocean as do

    versions = do.get_kubernetes_versions(version_prefix=f"{cfg.k8s_version}.")
    cluster = do.KubernetesCluster(
        "doks",
        name=cfg.name,
        region=cfg.region,
        version=versions.latest_version,
        auto_upgrade=False,
        node_pool=do.KubernetesClusterNodePoolArgs(
            name=f"{cfg.name}-pool",
            size=cfg.node_size,
            auto_scale=True,
            min_nodes=cfg.node_count_min,
            max_nodes=cfg.node_count_max,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    # Not cluster.kube_configs: that token is taken once and kept in the state, and expires after
    # 7 days (pulumi-digitalocean #312, #445). The data source is read on every run, so each
    # `pulumi up` (after its `pulumi refresh`) talks to the cluster with a fresh token.
    fresh = do.get_kubernetes_cluster_output(name=cluster.name)
    return pulumi.Output.secret(fresh.kube_configs[0].raw_config)


_KUBECONFIG_SOURCES: dict[str, Callable[[ClusterConfig, pulumi.Resource], pulumi.Output[str]]] = {
    "kind": _kind,
    "doks": _doks,
}


class Cluster(pulumi.ComponentResource):
    """The cluster, its provider (stable ``cluster_identifier``) and the namespaces."""

    provider: k8s.Provider
    namespaces: list[pulumi.Resource]
    #: What workloads must wait for: the namespaces and, on kind, the side-loaded images.
    ready: list[pulumi.Resource]
    #: kind only: image reference → the local image's ID, read on every run.
    image_ids: dict[str, pulumi.Output[str]]
    #: The kubeconfig (secret) of a created or referenced cluster; None for a kubeconfig context.
    kubeconfig: pulumi.Output[str] | None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tgscale:k8s:Cluster", name, None, opts)
        cfg = args.config
        provider_args: dict[str, Any] = {
            # A stable identity: a rotated kubeconfig (DOKS tokens expire) must not replace the
            # provider and, with it, every object in the cluster.
            "cluster_identifier": cfg.name,
            "enable_server_side_apply": True,
        }
        if cfg.mode == "kind" and args.kubeconfig is None:
            # A deleted kind cluster must not leave the stack stuck on unreachable objects.
            provider_args["delete_unreachable"] = True
        source = _KUBECONFIG_SOURCES.get(cfg.mode)
        self.kubeconfig = args.kubeconfig
        if self.kubeconfig is None and source is not None:
            self.kubeconfig = source(cfg, self)
        if self.kubeconfig is not None:
            provider_args["kubeconfig"] = self.kubeconfig
        elif cfg.kube_context:
            provider_args["context"] = cfg.kube_context
        self.provider = k8s.Provider(
            "k8s", opts=pulumi.ResourceOptions(parent=self), **provider_args
        )
        self.namespaces = [
            k8s_resource(
                f"ns-{obj['metadata']['name']}",
                obj,
                pulumi.ResourceOptions(parent=self, provider=self.provider),
            )
            for obj in args.namespaces
        ]
        self.ready = [*self.namespaces]
        self.image_ids = {}
        if cfg.mode == "kind" and args.kubeconfig is None:
            for index, image in enumerate(args.local_images):
                # An invoke runs on every `pulumi up`, so a rebuilt image under the same tag
                # has a new ID: it is loaded again and (as a pod annotation) rolls the pods.
                image_id = local.run_output(
                    command=f"docker image inspect --format '{{{{.Id}}}}' {image}"
                ).stdout.apply(str.strip)
                self.image_ids[image] = image_id
                self.ready.append(
                    local.Command(
                        f"kind-load-{index}",
                        create=f"kind load docker-image {image} --name {cfg.name}",
                        triggers=[image, image_id],
                        opts=pulumi.ResourceOptions(parent=self, depends_on=self.namespaces),
                    )
                )
        self.register_outputs({"cluster_name": cfg.name})
