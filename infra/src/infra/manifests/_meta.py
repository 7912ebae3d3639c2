"""Object names, the app.kubernetes.io label sets and the hardened container defaults.

Every builder takes its names and labels from here, so a selector and the labels it must match
can never drift apart. ``app.kubernetes.io/version`` is in labels but never in a selector.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from infra.config import StackConfig

BOT: Final = "tgbot"
BOT_SECRET: Final = "tgbot-secrets"  # noqa: S105 (an object name)
BOT_PORT: Final = 8080
BOT_PORT_NAME: Final = "http"
DB_CLUSTER: Final = "tgscale-db"
POOLER: Final = "tgscale-db-pooler-rw"
DB_CREDENTIALS_OWN: Final = "tgscale-db-credentials"
EMULATOR: Final = "tgemu"
EMULATOR_PORT: Final = 8081
LOCUST_MASTER: Final = "locust-master"
LOCUST_WORKER: Final = "locust-worker"
LOCUST_MASTER_PORT: Final = 5557
LOCUST_METRICS_PORT: Final = 9646
DASHBOARD_LABEL: Final = "grafana_dashboard"
NON_ROOT_UID: Final = 10001


def image_tag(image: str) -> str:
    """The tag (or short digest) of an image reference, for the version label."""
    if "@sha256:" in image:
        return image.rsplit("@sha256:", 1)[1][:12]
    return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "unknown"


def selector(cfg: StackConfig, component: str) -> dict[str, str]:
    """The stable labels a selector uses for one component (never the version)."""
    return {
        "app.kubernetes.io/name": "tgscale",
        "app.kubernetes.io/instance": cfg.instance,
        "app.kubernetes.io/component": component,
    }


def labels(cfg: StackConfig, component: str, version: str | None = None) -> dict[str, str]:
    """The full recommended label set of an object of ``component``."""
    out = selector(cfg, component) | {
        "app.kubernetes.io/part-of": "tgscale",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    if version:
        out["app.kubernetes.io/version"] = version
    return out


def metadata(
    cfg: StackConfig,
    name: str,
    component: str,
    *,
    namespace: str | None = None,
    version: str | None = None,
    extra_labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``metadata`` of a namespaced object in the bot's namespace unless told otherwise."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace or cfg.namespace,
        "labels": labels(cfg, component, version) | (extra_labels or {}),
    }
    if annotations:
        meta["annotations"] = annotations
    return meta


def short_hash(*parts: str) -> str:
    """A stable 8-character hash, used to give per-deploy Jobs a new name when inputs change."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def pod_security_context() -> dict[str, Any]:
    """Pod-level hardening: non-root, fixed IDs, the runtime's seccomp profile."""
    return {
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_UID,
        "runAsGroup": NON_ROOT_UID,
        "fsGroup": NON_ROOT_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Container hardening: read-only root filesystem, no privilege escalation, no capabilities."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def resources(
    cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str
) -> dict[str, Any]:
    """A container's requests (the HPA's Utilization base) and limits."""
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def tmp_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    """An emptyDir for /tmp (the root filesystem is read-only): (volume, volumeMount)."""
    return (
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (a container path, not a host temp file)
    )
