"""The environment of every container we run, from one mapping per container.

Each function returns ``name → value`` (a plain string, or a :func:`secret_ref`) and
:func:`env_list` turns it into a container's ``env``. The numbers the bot derives its behaviour
from (pool size, drain time, in-flight cap) are set here explicitly from the stack's config, so
the bot never falls back to its own defaults for anything the infrastructure sizes around.
``tests/infra/test_infra_env.py`` builds the bot's ``Settings`` from every rendered container.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from bot_contract import webhook
from infra.config import BOT_DB_POOL_MIN
from infra.manifests import _meta, autoscaling, database

if TYPE_CHECKING:
    from infra.config import StackConfig

#: The Secret keys of the bot's Secret (the program fills them from Pulumi secrets).
BOT_TOKEN_KEY: Final = "BOT_TOKEN"  # noqa: S105 (a key name)
WEBHOOK_SECRET_KEY: Final = "BOT_WEBHOOK_SECRET"  # noqa: S105 (a key name)

EnvValue = str | dict[str, Any]


def secret_ref(secret: str, key: str) -> dict[str, Any]:
    """A value read from ``key`` of the Secret ``secret`` (never a literal in the manifest)."""
    return {"secretKeyRef": {"name": secret, "key": key}}


def env_list(mapping: dict[str, EnvValue]) -> list[dict[str, Any]]:
    """A container ``env`` in the mapping's order (``$(VAR)`` may use earlier entries)."""
    return [
        {"name": name, "value": value}
        if isinstance(value, str)
        else {"name": name, "valueFrom": value}
        for name, value in mapping.items()
    ]


def api_base_url(cfg: StackConfig) -> str:
    """BOT_API_BASE_URL: the in-cluster emulator when it runs, else the configured Bot API."""
    if cfg.loadgen.emulator:
        return f"http://{_meta.EMULATOR}.{cfg.namespace}.svc:{_meta.EMULATOR_PORT}"
    return cfg.bot.api_base_url


def database_url(cfg: StackConfig, *, own_password: bool) -> dict[str, EnvValue]:
    """``DATABASE_URL`` through the pooler, assembled from the credentials Secret.

    Kubernetes expands ``$(VAR)`` from earlier entries, so the password never leaves the Secret.
    CNPG-generated passwords are alphanumeric; a configured ``dbPassword`` must be URL-safe.
    """
    secret = database.credentials_secret_name(own_password=own_password)
    host = f"{_meta.POOLER}.{cfg.namespace}.svc"
    return {
        "DB_USER": secret_ref(secret, "username"),
        "DB_PASSWORD": secret_ref(secret, "password"),
        "DATABASE_URL": f"postgresql://$(DB_USER):$(DB_PASSWORD)@{host}:5432/{cfg.database.database}",
    }


def bot(cfg: StackConfig, *, own_db_password: bool) -> dict[str, EnvValue]:
    """Every bot-image container (serve, migrate, set-webhook)."""
    return {
        "BOT_TOKEN": secret_ref(_meta.BOT_SECRET, BOT_TOKEN_KEY),
        "BOT_WEBHOOK_SECRET": secret_ref(_meta.BOT_SECRET, WEBHOOK_SECRET_KEY),
        **database_url(cfg, own_password=own_db_password),
        "BOT_ENV": cfg.bot.env,
        "BOT_HOST": "0.0.0.0",  # noqa: S104 (a container listens on all interfaces)
        "BOT_PORT": str(_meta.BOT_PORT),
        "BOT_WEBHOOK_PATH": webhook.WEBHOOK_PATH,
        "BOT_MAX_IN_FLIGHT": str(cfg.bot.max_in_flight),
        "BOT_DB_POOL_MIN": str(BOT_DB_POOL_MIN),
        "BOT_DB_POOL_MAX": str(cfg.bot.db_pool_size),
        "BOT_SHUTDOWN_GRACE_S": str(cfg.bot.drain_seconds),
        "BOT_API_BASE_URL": api_base_url(cfg),
    }


def locust(cfg: StackConfig) -> dict[str, EnvValue]:
    """The Locust master and workers (the load suite's options read ``LOCUST_<FLAG>``)."""
    out: dict[str, EnvValue] = {
        "LOCUST_LOAD_PROFILE": cfg.loadgen.profile,
        "LOCUST_PROMETHEUS_PORT": str(_meta.LOCUST_METRICS_PORT),
        # The suite binds its metrics to 127.0.0.1 by default, where Prometheus cannot scrape.
        "LOCUST_PROMETHEUS_BIND": "0.0.0.0",  # noqa: S104 (a container listens on all interfaces)
        "LOCUST_WEBHOOK_SECRET": secret_ref(_meta.BOT_SECRET, WEBHOOK_SECRET_KEY),
        "LOCUST_K8S_NAMESPACE": cfg.namespace,
        "LOCUST_K8S_DEPLOYMENT": _meta.BOT,
        "LOCUST_K8S_HPA": _meta.BOT,
    }
    if cfg.monitoring.enabled:
        out["LOCUST_PROMETHEUS_URL"] = autoscaling.prometheus_url(cfg)
    if cfg.loadgen.emulator:
        out["LOCUST_EMULATOR_URL"] = api_base_url(cfg)
    return out


def emulator(cfg: StackConfig) -> dict[str, EnvValue]:  # noqa: ARG001 (same shape as the others)
    """The Bot API emulator: configured by its command line only."""
    return {}
