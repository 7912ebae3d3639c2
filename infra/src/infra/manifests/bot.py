"""The bot's objects: Secret, migration Job, Deployment, Service, Ingress, PDB, NetworkPolicy,
ServiceMonitor and the set-webhook Job.

The Deployment has no ``spec.replicas``: the autoscaler owns it (the Pulumi resource also
ignores changes to it). The pod drains gracefully: readiness turns off on SIGTERM, the preStop
pause lets endpoints update, then in-flight updates finish within the grace period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot_contract import webhook
from infra.manifests import _meta, env

if TYPE_CHECKING:
    from infra.config import StackConfig

COMPONENT = "bot"


def secret(cfg: StackConfig) -> dict[str, Any]:
    """The bot's Secret without its values (the program adds ``stringData`` from Pulumi secrets)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta.metadata(cfg, _meta.BOT_SECRET, COMPONENT),
        "type": "Opaque",
    }


def _container(
    cfg: StackConfig, name: str, args: list[str], *, own_db_password: bool
) -> dict[str, Any]:
    """A bot-image container with env, resources and the hardened security context."""
    _, tmp_mount = _meta.tmp_volume()
    return {
        "name": name,
        "image": cfg.bot.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "bot"],
        "args": args,
        "env": env.env_list(env.bot(cfg, own_db_password=own_db_password)),
        "resources": _meta.resources(
            cfg.bot.cpu_request, cfg.bot.memory_request, cfg.bot.cpu_limit, cfg.bot.memory_limit
        ),
        "securityContext": _meta.container_security_context(),
        "volumeMounts": [tmp_mount],
    }


def _pod_spec(containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    tmp, _ = _meta.tmp_volume()
    return {
        "automountServiceAccountToken": False,
        "securityContext": _meta.pod_security_context(),
        "containers": containers,
        "volumes": [tmp],
        **extra,
    }


def _job(cfg: StackConfig, name: str, component: str, container: dict[str, Any]) -> dict[str, Any]:
    version = _meta.image_tag(cfg.bot.image)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta.metadata(cfg, name, component, version=version),
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": _meta.labels(cfg, component, version)},
                "spec": _pod_spec([container], restartPolicy="Never"),
            },
        },
    }


def migration_job(cfg: StackConfig, *, own_db_password: bool) -> dict[str, Any]:
    """``python -m bot migrate``; named per image so each new image migrates before it rolls."""
    container = _container(cfg, "migrate", ["migrate"], own_db_password=own_db_password)
    name = f"{_meta.BOT}-migrate-{_meta.short_hash(cfg.bot.image)}"
    return _job(cfg, name, "migrate", container)


def set_webhook_job(cfg: StackConfig, *, own_db_password: bool) -> dict[str, Any] | None:
    """``python -m bot set-webhook`` once per deploy, when a public URL is configured."""
    if not cfg.bot.webhook_url:
        return None
    args = [
        "set-webhook",
        "--url",
        cfg.bot.webhook_url,
        "--max-connections",
        str(cfg.bot.webhook_max_connections),
    ]
    container = _container(cfg, "set-webhook", args, own_db_password=own_db_password)
    name = f"{_meta.BOT}-set-webhook-{_meta.short_hash(cfg.bot.image, *args)}"
    return _job(cfg, name, "set-webhook", container)


def deployment(cfg: StackConfig, *, own_db_password: bool) -> dict[str, Any]:
    """The bot Deployment (no ``spec.replicas``: the autoscaler owns it)."""
    bot = cfg.bot
    version = _meta.image_tag(bot.image)
    match = _meta.selector(cfg, COMPONENT)
    container = _container(
        cfg, COMPONENT, ["serve", "--workers", str(bot.workers)], own_db_password=own_db_password
    )
    container |= {
        "ports": [
            {"name": _meta.BOT_PORT_NAME, "containerPort": _meta.BOT_PORT, "protocol": "TCP"}
        ],
        "startupProbe": _probe(webhook.HEALTHZ_PATH, period=2, failures=30),
        "livenessProbe": _probe(webhook.HEALTHZ_PATH, period=10, failures=3),
        "readinessProbe": _probe(webhook.READYZ_PATH, period=5, failures=2),
        # The sleep action needs no shell or binary in the image (GA in Kubernetes 1.34, beta on by
        # default since 1.30).
        "lifecycle": {"preStop": {"sleep": {"seconds": bot.pre_stop_seconds}}},
    }
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": match},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta.metadata(cfg, _meta.BOT, COMPONENT, version=version),
        "spec": {
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": match},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
            },
            "template": {
                "metadata": {
                    "labels": _meta.labels(cfg, COMPONENT, version),
                },
                "spec": _pod_spec(
                    [container],
                    terminationGracePeriodSeconds=bot.termination_grace_seconds,
                    topologySpreadConstraints=spread,
                ),
            },
        },
    }


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": _meta.BOT_PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def service(cfg: StackConfig) -> dict[str, Any]:
    """Service on port 80 → the pods' ``http`` port; a NodePort too when ``botNodePort`` is set
    (kube-proxy then spreads connections from outside the cluster over every pod)."""
    port: dict[str, Any] = {
        "name": _meta.BOT_PORT_NAME,
        "port": 80,
        "targetPort": _meta.BOT_PORT_NAME,
        "protocol": "TCP",
    }
    if cfg.bot.node_port:
        port["nodePort"] = cfg.bot.node_port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta.metadata(cfg, _meta.BOT, COMPONENT),
        "spec": {
            "type": "NodePort" if cfg.bot.node_port else "ClusterIP",
            "selector": _meta.selector(cfg, COMPONENT),
            "ports": [port],
        },
    }


def service_monitor(cfg: StackConfig) -> dict[str, Any]:
    """Scrapes ``/metrics`` on the Service's ``http`` port; labelled for the kps release too."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta.metadata(
            cfg, _meta.BOT, COMPONENT, extra_labels={"release": cfg.monitoring.release}
        ),
        "spec": {
            "selector": {"matchLabels": _meta.selector(cfg, COMPONENT)},
            "namespaceSelector": {"matchNames": [cfg.namespace]},
            "endpoints": [
                {
                    "port": _meta.BOT_PORT_NAME,
                    "path": webhook.METRICS_PATH,
                    "interval": "15s",
                    "scrapeTimeout": "10s",
                }
            ],
        },
    }


def ingress(cfg: StackConfig) -> dict[str, Any] | None:
    """Public TLS entry for the webhook path only (``/metrics`` and probes stay internal)."""
    bot = cfg.bot
    if not bot.ingress_enabled:
        return None
    tls_secret = f"{_meta.BOT}-tls"
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta.metadata(
            cfg,
            _meta.BOT,
            COMPONENT,
            annotations={"cert-manager.io/cluster-issuer": bot.cert_issuer},
        ),
        "spec": {
            "ingressClassName": bot.ingress_class_name,
            "tls": [{"hosts": [bot.ingress_host], "secretName": tls_secret}],
            "rules": [
                {
                    "host": bot.ingress_host,
                    "http": {
                        "paths": [
                            {
                                "path": webhook.WEBHOOK_PATH,
                                "pathType": "Exact",
                                "backend": {
                                    "service": {
                                        "name": _meta.BOT,
                                        "port": {"name": _meta.BOT_PORT_NAME},
                                    }
                                },
                            }
                        ]
                    },
                }
            ],
        },
    }


def pdb_min_available(cfg: StackConfig) -> int:
    """Strictly below minReplicas, so a drain at the minimum never deadlocks."""
    return max(cfg.autoscaling.min_replicas - 1, 0)


def pod_disruption_budget(cfg: StackConfig) -> dict[str, Any]:
    """Keeps all but one of the minimum replicas up during voluntary disruptions."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta.metadata(cfg, _meta.BOT, COMPONENT),
        "spec": {
            "minAvailable": pdb_min_available(cfg),
            "selector": {"matchLabels": _meta.selector(cfg, COMPONENT)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def _namespace_peer(namespace: str, pods: dict[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    }
    if pods:
        peer["podSelector"] = {"matchLabels": pods}
    return peer


def network_policy(cfg: StackConfig) -> dict[str, Any]:
    """Only the ingress controller, Prometheus (and the in-cluster load generator) reach the bot;
    the bot reaches the pooler, DNS and the Bot API."""
    http = [{"protocol": "TCP", "port": _meta.BOT_PORT}]
    sources = [
        _namespace_peer(cfg.bot.ingress_controller_namespace),
        _namespace_peer(cfg.monitoring.namespace),
    ]
    if cfg.loadgen.enabled:
        sources.append({"podSelector": {"matchLabels": _meta.selector(cfg, "loadgen-worker")}})
    if cfg.bot.node_port:
        # NodePort traffic arrives SNATed to a node address: whoever reaches the node port.
        sources.append({"ipBlock": {"cidr": "0.0.0.0/0"}})
    egress: list[dict[str, Any]] = [
        {
            "to": [_namespace_peer("kube-system", {"k8s-app": "kube-dns"})],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        {
            "to": [{"podSelector": {"matchLabels": {"cnpg.io/poolerName": _meta.POOLER}}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        },
    ]
    if cfg.loadgen.emulator:
        egress.append(
            {
                "to": [{"podSelector": {"matchLabels": _meta.selector(cfg, "emulator")}}],
                "ports": [{"protocol": "TCP", "port": _meta.EMULATOR_PORT}],
            }
        )
    else:
        # The Bot API (api.telegram.org) has no stable IP range: HTTPS to the outside world.
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta.metadata(cfg, _meta.BOT, COMPONENT),
        "spec": {
            "podSelector": {"matchLabels": _meta.selector(cfg, COMPONENT)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": sources, "ports": http}],
            "egress": egress,
        },
    }
