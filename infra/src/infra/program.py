"""The whole stack: builds the objects from the config and wires the layers in dependency order.

``infra/__main__.py`` only calls :func:`read_secrets`, :func:`deploy` and exports; tests call
:func:`deploy` under Pulumi mocks with each stack's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from infra.components.autoscaling import Autoscaling, AutoscalingArgs
from infra.components.bot_service import BotService, BotServiceArgs
from infra.components.cluster import Cluster, ClusterArgs
from infra.components.dashboards import Dashboards, DashboardsArgs
from infra.components.database import Database, DatabaseArgs
from infra.components.load_generator import LoadGenerator, LoadGeneratorArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.config import ConfigError
from infra.manifests import _meta, autoscaling, build, platform
from infra.manifests import database as database_manifests

if TYPE_CHECKING:
    from infra.config import StackConfig


#: The platform stack's outputs an app stack reads.
PLATFORM_KUBECONFIG = "kubeconfig"
PLATFORM_OPERATORS = "charts"
#: kind: the bot pods' annotation holding the local image's ID (a rebuilt image rolls them).
IMAGE_ID_ANNOTATION = "tgscale.dev/image-id"


@dataclass(frozen=True)
class Secrets:
    """Secret config values, only ever as secret Outputs."""

    bot_token: pulumi.Output[str] | None
    webhook_secret: pulumi.Output[str] | None
    db_password: pulumi.Output[str] | None = None
    grafana_admin_password: pulumi.Output[str] | None = None
    db_backup_access_key_id: pulumi.Output[str] | None = None
    db_backup_secret_access_key: pulumi.Output[str] | None = None
    alertmanager_webhook_url: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class Stack:
    """The layers of a deployed stack (for exports and tests)."""

    cluster: Cluster
    monitoring: Monitoring | None
    database: Database
    bot: BotService | None
    autoscaling: Autoscaling
    load_generator: LoadGenerator | None
    dashboards: Dashboards | None


def read_secrets(config: pulumi.Config, *, app: bool = True) -> Secrets:
    """Read the secret keys with ``require_secret``/``get_secret`` (never plain ``get``); the bot's
    are required in a stack that deploys the bot (``app``) and not read otherwise."""
    return Secrets(
        bot_token=config.require_secret("botToken") if app else None,
        webhook_secret=config.require_secret("botWebhookSecret") if app else None,
        db_password=config.get_secret("dbPassword"),
        grafana_admin_password=config.get_secret("grafanaAdminPassword"),
        db_backup_access_key_id=config.get_secret("dbBackupAccessKeyId"),
        db_backup_secret_access_key=config.get_secret("dbBackupSecretAccessKey"),
        alertmanager_webhook_url=config.get_secret("alertmanagerWebhookUrl"),
    )


def _database_secret_values(
    cfg: StackConfig, secrets: Secrets
) -> dict[str, pulumi.Output[dict[str, str]]]:
    """The values of the database Secrets the program fills (password, backup keys)."""
    out: dict[str, pulumi.Output[dict[str, str]]] = {}
    if secrets.db_password is not None:
        out[_meta.DB_CREDENTIALS_OWN] = secrets.db_password.apply(lambda pw: {"password": pw})
    if cfg.database.backup_destination:
        key_id, secret_key = secrets.db_backup_access_key_id, secrets.db_backup_secret_access_key
        if key_id is None or secret_key is None:
            raise ConfigError(
                f"stack {cfg.stack!r}: dbBackupDestination needs the secrets dbBackupAccessKeyId "
                "and dbBackupSecretAccessKey (pulumi config set --secret ...)"
            )
        names = database_manifests.BACKUP_KEYS
        out[database_manifests.BACKUP_SECRET] = pulumi.Output.all(key_id, secret_key).apply(
            lambda values: dict(zip(names, values, strict=True))
        )
    return out


def deploy(cfg: StackConfig, secrets: Secrets) -> Stack:
    """Create every layer of the stack.

    Args:
        cfg: The validated stack configuration.
        secrets: The secret values as Pulumi secret Outputs.
    """
    objects = build(cfg, own_db_password=secrets.db_password is not None)
    local_images = [cfg.bot.image]
    if cfg.loadgen.enabled or cfg.loadgen.emulator:
        local_images.append(cfg.loadgen.image)
    cluster = Cluster(
        "cluster",
        ClusterArgs(
            config=cfg.cluster,
            namespaces=objects.namespaces,
            # kind pulls nothing from the host's Docker: images built there are side-loaded.
            local_images=local_images if cfg.cluster.mode == "kind" and cfg.has_app else [],
            kubeconfig=platform_kubeconfig(cfg) if cfg.role == "app" else None,
        ),
    )
    provider, namespaces = cluster.provider, cluster.namespaces

    monitoring = None
    if cfg.has_platform:
        monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(
                provider=provider,
                namespaces=namespaces,
                kube_prometheus_stack=(
                    platform.kube_prometheus_stack(cfg) if cfg.monitoring.enabled else None
                ),
                metrics_server=platform.metrics_server(cfg),
                grafana_admin_password=secrets.grafana_admin_password,
                alertmanager_secret=objects.alertmanager_secret,
                alertmanager_webhook_url=secrets.alertmanager_webhook_url,
            ),
        )
    monitoring_chart = monitoring.chart if monitoring else None
    database = Database(
        "database",
        DatabaseArgs(
            provider=provider,
            namespaces=namespaces,
            operator_chart=platform.cloudnative_pg(cfg) if cfg.has_platform else None,
            objects=objects.database,
            monitoring_chart=monitoring_chart,
            secret_values=_database_secret_values(cfg, secrets) if cfg.has_app else {},
        ),
    )
    bot = None
    if objects.bot_secret is not None and objects.migration_job is not None:
        assert secrets.bot_token is not None  # noqa: S101 (read_secrets requires it for apps)
        assert secrets.webhook_secret is not None  # noqa: S101
        bot = BotService(
            "bot",
            BotServiceArgs(
                provider=provider,
                secret=objects.bot_secret,
                migration_job=objects.migration_job,
                objects=objects.bot,
                set_webhook_job=objects.set_webhook_job,
                bot_token=secrets.bot_token,
                webhook_secret=secrets.webhook_secret,
                database=database,
                monitoring_chart=monitoring_chart,
                namespaces=cluster.ready,
                db_password=secrets.db_password,
                pod_annotations=(
                    {IMAGE_ID_ANNOTATION: cluster.image_ids[cfg.bot.image]}
                    if cfg.bot.image in cluster.image_ids
                    else {}
                ),
            ),
        )
    scaler = Autoscaling(
        "autoscaling",
        AutoscalingArgs(
            provider=provider,
            objects=objects.autoscaling,
            deployment=bot.deployment if bot else None,
            keda_chart=platform.keda(cfg) if cfg.has_platform else None,
            vpa_chart=platform.vpa(cfg) if cfg.has_platform else None,
            metrics_server=monitoring.metrics_server if monitoring else None,
            namespaces=namespaces,
        ),
    )
    load_generator = None
    if objects.loadgen and bot is not None:
        load_generator = LoadGenerator(
            "load-generator",
            LoadGeneratorArgs(
                provider=provider,
                objects=objects.loadgen,
                depends_on=[bot, *cluster.ready, *([monitoring_chart] if monitoring_chart else [])],
            ),
        )
    dashboards = None
    if objects.dashboards:
        dashboards = Dashboards(
            "dashboards",
            DashboardsArgs(
                provider=provider,
                objects=objects.dashboards,
                monitoring_chart=monitoring_chart,
                namespaces=namespaces,
            ),
        )
    return Stack(cluster, monitoring, database, bot, scaler, load_generator, dashboards)


def platform_kubeconfig(cfg: StackConfig) -> pulumi.Output[str]:
    """An app stack's kubeconfig: the platform stack's secret ``kubeconfig`` output. The app
    also checks that the platform installs what its configuration needs (KEDA, VPA, kps)."""
    reference = pulumi.StackReference(cfg.platform_stack)
    needed = sorted(_needed_operators(cfg))

    def check(installed: Any) -> None:
        missing = [name for name in needed if name not in list(installed or [])]
        if missing:
            raise ConfigError(
                f"stack {cfg.stack!r}: platform stack {cfg.platform_stack!r} does not install "
                f"{missing}; set autoscaler/vpaEnabled/monitoringEnabled there as here"
            )

    checked = reference.require_output(PLATFORM_OPERATORS).apply(check)
    kubeconfig = pulumi.Output.all(reference.require_output(PLATFORM_KUBECONFIG), checked)
    return pulumi.Output.secret(kubeconfig.apply(lambda values: str(values[0])))


def _needed_operators(cfg: StackConfig) -> set[str]:
    return {spec.chart for spec in platform.charts(cfg)}


def platform_exports(cfg: StackConfig, stack: Stack) -> dict[str, pulumi.Output[Any] | Any]:
    """What a platform stack hands its app stacks: the (secret) kubeconfig and its charts."""
    if cfg.role != "platform":
        return {}
    out: dict[str, Any] = {PLATFORM_OPERATORS: sorted(_needed_operators(cfg))}
    if stack.cluster.kubeconfig is not None:
        out[PLATFORM_KUBECONFIG] = stack.cluster.kubeconfig
    return out


def exports(cfg: StackConfig) -> dict[str, str]:
    """Plain, non-secret facts a user needs after ``pulumi up`` (no kubeconfig, no secrets)."""
    out: dict[str, str] = {"stack_role": cfg.role}
    if not cfg.has_app:
        return out
    out |= {
        "namespace": cfg.namespace,
        "autoscaler": cfg.autoscaling.mode,
        "bot_service": f"tgbot.{cfg.namespace}.svc",
    }
    if cfg.monitoring.enabled:
        out["prometheus_url"] = autoscaling.prometheus_url(cfg)
        out["grafana_service"] = f"{cfg.monitoring.release}-grafana.{cfg.monitoring.namespace}.svc"
    if cfg.bot.webhook_url:
        out["webhook_url"] = cfg.bot.webhook_url
    return out
