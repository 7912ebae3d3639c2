"""Every Kubernetes object of a stack as plain dicts, built by pure functions from the config.

The Pulumi components wrap exactly these dicts; ``python -m infra.manifests <stack>`` writes them
to YAML for review, and the tests validate them against the Kubernetes and CRD schemas.
Secret values are never part of these dicts: the program adds them from Pulumi secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.manifests import autoscaling, bot, database, loadgen, observability, platform

if TYPE_CHECKING:
    from infra.config import StackConfig

__all__ = ["StackObjects", "build"]


@dataclass(frozen=True)
class StackObjects:
    """A stack's objects grouped by the layer (component) that creates them."""

    namespaces: list[dict[str, Any]]
    charts: list[platform.ChartSpec]
    #: Alertmanager's configuration Secret (values added by the program), when monitored.
    alertmanager_secret: dict[str, Any] | None
    database: list[dict[str, Any]]
    bot_secret: dict[str, Any]
    migration_job: dict[str, Any]
    bot: list[dict[str, Any]]
    set_webhook_job: dict[str, Any] | None
    autoscaling: list[dict[str, Any]]
    loadgen: list[dict[str, Any]]
    dashboards: list[dict[str, Any]]

    def all_objects(self) -> list[dict[str, Any]]:
        """Every object in apply order (charts excluded: they are rendered by Helm)."""
        return [
            *self.namespaces,
            *([self.alertmanager_secret] if self.alertmanager_secret else []),
            *self.database,
            self.bot_secret,
            self.migration_job,
            *self.bot,
            *([self.set_webhook_job] if self.set_webhook_job else []),
            *self.autoscaling,
            *self.loadgen,
            *self.dashboards,
        ]


def build(cfg: StackConfig, *, own_db_password: bool) -> StackObjects:
    """Build every object of the stack.

    Args:
        cfg: The validated stack configuration.
        own_db_password: Whether ``dbPassword`` is configured (our basic-auth Secret) or the
            operator generates the credentials (``<cluster>-app``).
    """
    db_objects = [database.cluster(cfg, own_password=own_db_password), database.pooler(cfg)]
    if own_db_password:
        db_objects.insert(0, database.credentials_secret(cfg))
    if cfg.database.backup_destination:
        db_objects.insert(0, database.backup_secret(cfg))
        db_objects.append(database.scheduled_backup(cfg))
    if cfg.monitoring.enabled:
        db_objects += database.pod_monitors(cfg)
    bot_objects = [
        bot.deployment(cfg, own_db_password=own_db_password),
        bot.service(cfg),
        bot.pod_disruption_budget(cfg),
        bot.network_policy(cfg),
    ]
    ingress = bot.ingress(cfg)
    if ingress:
        bot_objects.append(ingress)
    if cfg.monitoring.enabled:
        bot_objects.append(bot.service_monitor(cfg))
    dashboards = (
        [*observability.dashboard_config_maps(cfg), observability.prometheus_rule(cfg)]
        if cfg.monitoring.enabled
        else []
    )
    return StackObjects(
        namespaces=platform.namespaces(cfg),
        charts=platform.charts(cfg),
        alertmanager_secret=(
            observability.alertmanager_secret(cfg) if cfg.monitoring.enabled else None
        ),
        database=db_objects,
        bot_secret=bot.secret(cfg),
        migration_job=bot.migration_job(cfg, own_db_password=own_db_password),
        bot=bot_objects,
        set_webhook_job=bot.set_webhook_job(cfg, own_db_password=own_db_password),
        autoscaling=autoscaling.autoscaler_objects(cfg),
        loadgen=loadgen.loadgen_objects(cfg),
        dashboards=dashboards,
    )
