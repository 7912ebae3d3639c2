"""The in-cluster load generator: a Locust master Job running one named profile headless, N worker
pods, and optionally the Bot API emulator the bot then calls instead of Telegram.

Load beyond one machine comes from the cluster itself; Prometheus scrapes the Locust processes'
``tgload_*`` metrics (``LOCUST_PROMETHEUS_PORT``) and the emulator's ``tgemu_*`` through a
PodMonitor, so the gates read the cluster's Prometheus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.manifests import _meta, env

if TYPE_CHECKING:
    from infra.config import StackConfig

LOCUSTFILE = "loadtest/locustfile.py"


def _container(
    cfg: StackConfig, name: str, command: list[str], env: list[dict[str, Any]]
) -> dict[str, Any]:
    _, tmp_mount = _meta.tmp_volume()
    return {
        "name": name,
        "image": cfg.loadgen.image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "resources": _meta.resources("250m", "256Mi", "1", "512Mi"),
        "securityContext": _meta.container_security_context(),
        "volumeMounts": [tmp_mount],
    }


def _pod(
    cfg: StackConfig, component: str, container: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    tmp, _ = _meta.tmp_volume()
    return {
        "metadata": {"labels": _meta.labels(cfg, component, _meta.image_tag(cfg.loadgen.image))},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": _meta.pod_security_context(),
            "containers": [container],
            "volumes": [tmp],
            **extra,
        },
    }


def _metrics_port() -> dict[str, Any]:
    return {"name": "metrics", "containerPort": _meta.LOCUST_METRICS_PORT, "protocol": "TCP"}


def _deployment(
    cfg: StackConfig, name: str, component: str, container: dict[str, Any], replicas: int
) -> dict[str, Any]:
    """A Deployment of ``replicas`` pods running ``container``, selected by ``component``."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta.metadata(cfg, name, component),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": _meta.selector(cfg, component)},
            "template": _pod(cfg, component, container),
        },
    }


def _service(
    cfg: StackConfig, name: str, component: str, port_name: str, port: int
) -> dict[str, Any]:
    """A Service exposing the ``component`` pods' named port ``port_name`` as ``port``."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta.metadata(cfg, name, component),
        "spec": {
            "selector": _meta.selector(cfg, component),
            "ports": [{"name": port_name, "port": port, "targetPort": port_name}],
        },
    }


def master_job(cfg: StackConfig) -> dict[str, Any]:
    """The Locust master: one headless run of the profile against the bot's Service."""
    target = f"http://{_meta.BOT}.{cfg.namespace}.svc"
    command = [
        "locust", "-f", LOCUSTFILE, "--master", "--headless",
        "--expect-workers", str(cfg.loadgen.workers), "--host", target,
    ]  # fmt: skip
    container = _container(cfg, "locust", command, env.env_list(env.locust(cfg)))
    container["ports"] = [
        {"name": "master", "containerPort": _meta.LOCUST_MASTER_PORT, "protocol": "TCP"},
        _metrics_port(),
    ]
    name = f"{_meta.LOCUST_MASTER}-{_meta.short_hash(cfg.loadgen.image, cfg.loadgen.profile)}"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta.metadata(
            cfg,
            name,
            "loadgen-master",
            # A load run takes minutes; `pulumi up` should not wait for it to finish.
            annotations={"pulumi.com/skipAwait": "true"},
        ),
        "spec": {
            "backoffLimit": 0,
            "template": _pod(cfg, "loadgen-master", container, restartPolicy="Never"),
        },
    }


def master_service(cfg: StackConfig) -> dict[str, Any]:
    """Where workers find the master."""
    return _service(cfg, _meta.LOCUST_MASTER, "loadgen-master", "master", _meta.LOCUST_MASTER_PORT)


def worker_deployment(cfg: StackConfig) -> dict[str, Any]:
    """N Locust workers (a fixed count from config; nothing autoscales them)."""
    master = f"{_meta.LOCUST_MASTER}.{cfg.namespace}.svc"
    command = ["locust", "-f", LOCUSTFILE, "--worker", "--master-host", master]
    container = _container(cfg, "locust", command, env.env_list(env.locust(cfg)))
    # Workers serve no HTTP of their own; the tgload_* metrics listener shows the process is up.
    probe = {
        "tcpSocket": {"port": "metrics"},
        "initialDelaySeconds": 10,
        "periodSeconds": 15,
        "failureThreshold": 4,
    }
    container |= {"ports": [_metrics_port()], "readinessProbe": probe, "livenessProbe": probe}
    return _deployment(
        cfg, _meta.LOCUST_WORKER, "loadgen-worker", container, replicas=cfg.loadgen.workers
    )


def emulator_deployment(cfg: StackConfig) -> dict[str, Any]:
    """The Bot API emulator (``python -m botapi_emulator``)."""
    command = [
        "python", "-m", "botapi_emulator",
        "--host", "0.0.0.0", "--port", str(_meta.EMULATOR_PORT),  # noqa: S104 (in a container)
    ]  # fmt: skip
    container = _container(cfg, "emulator", command, env.env_list(env.emulator(cfg)))
    probe = {"httpGet": {"path": "/__emulator/stats", "port": "http"}, "periodSeconds": 10}
    container |= {
        "ports": [{"name": "http", "containerPort": _meta.EMULATOR_PORT, "protocol": "TCP"}],
        "readinessProbe": probe,
        "livenessProbe": probe,
    }
    return _deployment(cfg, _meta.EMULATOR, "emulator", container, replicas=1)


def emulator_service(cfg: StackConfig) -> dict[str, Any]:
    """The emulator's Service, BOT_API_BASE_URL's host."""
    return _service(cfg, _meta.EMULATOR, "emulator", "http", _meta.EMULATOR_PORT)


def pod_monitor(cfg: StackConfig) -> dict[str, Any]:
    """Scrapes Locust (``metrics`` port) and the emulator (``http`` port, ``/metrics``)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": _meta.metadata(
            cfg, "tgscale-loadgen", "loadgen", extra_labels={"release": cfg.monitoring.release}
        ),
        "spec": {
            "selector": {
                "matchExpressions": [
                    {
                        "key": "app.kubernetes.io/component",
                        "operator": "In",
                        "values": ["loadgen-master", "loadgen-worker", "emulator"],
                    }
                ],
                "matchLabels": {"app.kubernetes.io/instance": cfg.instance},
            },
            "podMetricsEndpoints": [{"port": "metrics"}, {"port": "http", "path": "/metrics"}],
        },
    }


def loadgen_objects(cfg: StackConfig) -> list[dict[str, Any]]:
    """Every load-generator object for the stack (none when it is off)."""
    out: list[dict[str, Any]] = []
    if cfg.loadgen.emulator:
        out += [emulator_deployment(cfg), emulator_service(cfg)]
    if cfg.loadgen.enabled:
        out += [master_service(cfg), master_job(cfg), worker_deployment(cfg)]
    if out and cfg.monitoring.enabled:
        out.append(pod_monitor(cfg))
    return out
