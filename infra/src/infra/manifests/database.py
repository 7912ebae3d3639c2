"""PostgreSQL objects: the CloudNativePG Cluster, its PgBouncer Pooler and their PodMonitors.

The app credentials come from the operator: with no ``dbPassword`` the operator generates the
``<cluster>-app`` Secret (keys ``username``/``password``); with one, the program creates a
``kubernetes.io/basic-auth`` Secret and hands it to ``bootstrap.initdb.secret``. The bot reaches
PostgreSQL only through the Pooler (transaction mode), never the ``-rw`` Service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from infra.config import pooler_max_client_conn
from infra.manifests import _meta

if TYPE_CHECKING:
    from infra.config import StackConfig

CNPG_API: Final = "postgresql.cnpg.io/v1"
#: Ports the CNPG pods name ``metrics`` (instances 9187, PgBouncer 9127).
METRICS_PORT_NAME: Final = "metrics"
#: The Secret with the object store's keys (the program adds the values from Pulumi secrets).
BACKUP_SECRET: Final = "tgscale-db-backup"  # noqa: S105 (an object name)
BACKUP_KEYS: Final = ("ACCESS_KEY_ID", "ACCESS_SECRET_KEY")
#: Pulumi waits for the Cluster's Ready condition: it does not await custom resources, and the
#: migration Job (and the PgBouncer pods, which pass their probe before PostgreSQL is up) must
#: not start against a database still initialising.
WAIT_FOR_READY: Final = {"pulumi.com/waitFor": "condition=Ready"}


def credentials_secret_name(*, own_password: bool) -> str:
    """The Secret holding the app user's ``username``/``password``."""
    return _meta.DB_CREDENTIALS_OWN if own_password else f"{_meta.DB_CLUSTER}-app"


def credentials_secret(cfg: StackConfig) -> dict[str, Any]:
    """The basic-auth Secret for a configured ``dbPassword`` (the caller adds the password)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta.metadata(cfg, _meta.DB_CREDENTIALS_OWN, "database"),
        "type": "kubernetes.io/basic-auth",
        "stringData": {"username": cfg.database.owner},
    }


def cluster(cfg: StackConfig, *, own_password: bool) -> dict[str, Any]:
    """The CNPG ``Cluster``: instances, storage, the app database and its owner."""
    db = cfg.database
    initdb: dict[str, Any] = {"database": db.database, "owner": db.owner}
    if own_password:
        initdb["secret"] = {"name": _meta.DB_CREDENTIALS_OWN}
    storage: dict[str, Any] = {"size": db.storage}
    if db.storage_class:
        storage["storageClass"] = db.storage_class
    return {
        "apiVersion": CNPG_API,
        "kind": "Cluster",
        "metadata": _meta.metadata(cfg, _meta.DB_CLUSTER, "database", annotations=WAIT_FOR_READY),
        "spec": {
            "instances": db.instances,
            # A PDB on a single instance would block every node drain.
            "enablePDB": db.instances > 1,
            "storage": storage,
            "bootstrap": {"initdb": initdb},
            "postgresql": {"parameters": {"max_connections": str(db.max_connections)}},
            "resources": {
                "requests": {"cpu": "100m", "memory": "256Mi"},
                "limits": {"memory": "1Gi"},
            },
            **({"backup": _backup(cfg)} if db.backup_destination else {}),
        },
    }


def _backup(cfg: StackConfig) -> dict[str, Any]:
    """Base backups and the WAL archive to an S3-compatible store (DO Spaces on prod)."""
    db = cfg.database
    key_id, secret_key = BACKUP_KEYS
    store: dict[str, Any] = {
        "destinationPath": db.backup_destination,
        "s3Credentials": {
            "accessKeyId": {"name": BACKUP_SECRET, "key": key_id},
            "secretAccessKey": {"name": BACKUP_SECRET, "key": secret_key},
        },
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if db.backup_endpoint:
        store["endpointURL"] = db.backup_endpoint
    return {"barmanObjectStore": store, "retentionPolicy": db.backup_retention}


def backup_secret(cfg: StackConfig) -> dict[str, Any]:
    """The object store's keys, without values (the program adds them from Pulumi secrets)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta.metadata(cfg, BACKUP_SECRET, "database"),
        "type": "Opaque",
    }


def scheduled_backup(cfg: StackConfig) -> dict[str, Any]:
    """A daily base backup (the WAL is archived continuously); the first one right away."""
    return {
        "apiVersion": CNPG_API,
        "kind": "ScheduledBackup",
        "metadata": _meta.metadata(cfg, f"{_meta.DB_CLUSTER}-daily", "database"),
        "spec": {
            "schedule": cfg.database.backup_schedule,
            "cluster": {"name": _meta.DB_CLUSTER},
            "method": "barmanObjectStore",
            "backupOwnerReference": "self",
            "immediate": True,
        },
    }


def pooler(cfg: StackConfig) -> dict[str, Any]:
    """The PgBouncer ``Pooler`` in transaction mode, sized for every bot process at maxReplicas."""
    db = cfg.database
    return {
        "apiVersion": CNPG_API,
        "kind": "Pooler",
        "metadata": _meta.metadata(cfg, _meta.POOLER, "database-pooler"),
        "spec": {
            "cluster": {"name": _meta.DB_CLUSTER},
            "instances": db.pooler_instances,
            "type": "rw",
            "pgbouncer": {
                "poolMode": "transaction",
                "parameters": {
                    "max_client_conn": str(pooler_max_client_conn(cfg)),
                    "default_pool_size": str(db.pooler_default_pool_size),
                },
            },
        },
    }


def pod_monitors(cfg: StackConfig) -> list[dict[str, Any]]:
    """PodMonitors for the instances and the poolers (``enablePodMonitor`` is deprecated)."""
    release = {"release": cfg.monitoring.release}
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": _meta.metadata(cfg, name, "database", extra_labels=release),
            "spec": {
                "selector": {"matchLabels": match},
                "podMetricsEndpoints": [{"port": METRICS_PORT_NAME}],
            },
        }
        for name, match in (
            # podRole keeps the pooler pods (which also carry cnpg.io/cluster) out of this one.
            (
                _meta.DB_CLUSTER,
                {"cnpg.io/cluster": _meta.DB_CLUSTER, "cnpg.io/podRole": "instance"},
            ),
            (_meta.POOLER, {"cnpg.io/poolerName": _meta.POOLER}),
        )
    ]
