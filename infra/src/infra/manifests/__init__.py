"""Every Kubernetes object of a stack as plain dicts, built by pure functions from the config.

The Pulumi components wrap exactly these dicts; ``python -m infra.manifests <stack>`` writes them
to YAML for review, and the tests validate them against the Kubernetes and CRD schemas.
Secret values are never part of these dicts: the program adds them from Pulumi secrets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.manifests import autoscaling, bot, database, loadgen, observability, platform

if TYPE_CHECKING:
    from infra.config import StackConfig

__all__ = ["StackObjects", "build"]


@dataclass(frozen=True)
class StackObjects:
    """A stack's objects grouped by the layer (component) that creates them; an app stack has
    no charts, a platform stack no bot objects."""

    namespaces: list[dict[str, Any]]
    charts: list[platform.ChartSpec]
    #: Alertmanager's configuration Secret (values added by the program), when monitored.
    alertmanager_secret: dict[str, Any] | None
    database: list[dict[str, Any]] = field(default_factory=list)
    bot_secret: dict[str, Any] | None = None
    migration_job: dict[str, Any] | None = None
    bot: list[dict[str, Any]] = field(default_factory=list)
    set_webhook_job: dict[str, Any] | None = None
    autoscaling: list[dict[str, Any]] = field(default_factory=list)
    loadgen: list[dict[str, Any]] = field(default_factory=list)
    dashboards: list[dict[str, Any]] = field(default_factory=list)

    def all_objects(self) -> list[dict[str, Any]]:
        """Every object in apply order (charts excluded: they are rendered by Helm)."""
        return [
            *self.namespaces,
            *_present(self.alertmanager_secret),
            *self.database,
            *_present(self.bot_secret, self.migration_job),
            *self.bot,
            *_present(self.set_webhook_job),
            *self.autoscaling,
            *self.loadgen,
            *self.dashboards,
        ]


def _present(*objects: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj is not None]


def build(cfg: StackConfig, *, own_db_password: bool) -> StackObjects:
    """Build every object of the stack (what its ``stackRole`` deploys).

    Args:
        cfg: The validated stack configuration.
        own_db_password: Whether ``dbPassword`` is configured (our basic-auth Secret) or the
            operator generates the credentials (``<cluster>-app``).
    """
    base = StackObjects(
        namespaces=platform.namespaces(cfg),
        charts=platform.charts(cfg) if cfg.has_platform else [],
        alertmanager_secret=(
            observability.alertmanager_secret(cfg)
            if cfg.has_platform and cfg.monitoring.enabled
            else None
        ),
    )
    if not cfg.has_app:
        return base
    return dataclasses.replace(base, **_app_objects(cfg, own_db_password=own_db_password))


def _app_objects(cfg: StackConfig, *, own_db_password: bool) -> dict[str, Any]:
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
    return {
        "database": db_objects,
        "bot_secret": bot.secret(cfg),
        "migration_job": bot.migration_job(cfg, own_db_password=own_db_password),
        "bot": bot_objects,
        "set_webhook_job": bot.set_webhook_job(cfg, own_db_password=own_db_password),
        "autoscaling": autoscaling.autoscaler_objects(cfg),
        "loadgen": loadgen.loadgen_objects(cfg),
        "dashboards": dashboards,
    }
