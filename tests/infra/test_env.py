"""The infra and the bot agree by test: every container we render gets an environment the bot's
own ``Settings`` (and the load suite's options) accept, and the numbers the infra sizes around
(pool, drain, in-flight) are the ones the bot then uses.

Expected values come from the bot (``bot.settings.Settings``, the uvicorn config ``bot.cli``
builds) and the load suite's option parser, never from the infra's config.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from bot import cli
from bot.settings import Settings
from infra.manifests import _meta, build

if TYPE_CHECKING:
    from infra.config import StackConfig

#: What a secret reference becomes: values the bot accepts outside dev (no placeholders).
SECRET_PLACEHOLDERS = {
    "BOT_TOKEN": "987654321:PlaceholderTokenFromTheSecret",
    "BOT_WEBHOOK_SECRET": "placeholder-webhook-secret-0123456789",
    "username": "tgbot",
    "password": "placeholderDbPassword",
}


def _pod_containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}", container)
        for obj in objects
        if obj["kind"] in ("Deployment", "Job")
        for container in obj["spec"]["template"]["spec"]["containers"]
    ]


def rendered_env(container: dict[str, Any]) -> dict[str, str]:
    """The environment a container sees: secret refs replaced, ``$(VAR)`` expanded as the
    kubelet does (earlier entries only)."""
    out: dict[str, str] = {}
    for entry in container.get("env", []):
        if "valueFrom" in entry:
            key = entry["valueFrom"]["secretKeyRef"]["key"]
            out[entry["name"]] = SECRET_PLACEHOLDERS[key]
        else:
            out[entry["name"]] = re.sub(
                r"\$\((\w+)\)", lambda m: out.get(m.group(1), m.group(0)), entry["value"]
            )
    return out


def _bot_env_names() -> set[str]:
    names = {f"BOT_{name.upper()}" for name in Settings.model_fields}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names |= set(getattr(alias, "choices", ()))
    return names


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``Settings()`` exactly as the container would build it, unknown ``BOT_*`` refused."""
    unknown = sorted(n for n in env if n.startswith("BOT_") and n not in _bot_env_names())
    assert not unknown, f"BOT_* names the bot does not read: {unknown}"
    with monkeypatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("BOT_")]:
            patch.delenv(key)
        patch.delenv("DATABASE_URL", raising=False)
        for key, value in env.items():
            patch.setenv(key, value)
        return Settings()


def _bot_containers(cfg: StackConfig) -> list[tuple[str, dict[str, Any]]]:
    objects = build(cfg, own_db_password=False).all_objects()
    return [(w, c) for w, c in _pod_containers(objects) if c["image"] == cfg.bot.image]


def test_every_bot_container_starts_with_its_env(
    case: tuple[str, StackConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cfg = case
    containers = _bot_containers(cfg)
    assert {w.split("/")[0] for w, _ in containers} >= {"Deployment", "Job"}
    for where, container in containers:
        settings = settings_from(rendered_env(container), monkeypatch)
        assert settings.env == cfg.bot.env, where
        assert settings.port == _meta.BOT_PORT, where


def test_bot_sizes_come_from_the_env_not_its_defaults(
    case: tuple[str, StackConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool and drain the bot uses are the ones the pooler and grace period are sized for."""
    _, cfg = case
    objects = build(cfg, own_db_password=False)
    deployment = objects.bot[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    settings = settings_from(rendered_env(container), monkeypatch)
    assert settings.pool_max == cfg.bot.db_pool_size
    assert settings.db_pool_min <= settings.pool_max
    assert settings.shutdown_grace_s == cfg.bot.drain_seconds
    assert settings.max_in_flight == cfg.bot.max_in_flight


def _workers(container: dict[str, Any]) -> int:
    args = container["args"]
    return int(args[args.index("--workers") + 1]) if "--workers" in args else 1


def test_pooler_holds_every_process_at_max_replicas(
    case: tuple[str, StackConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client connections the fleet can open (the bot's own pool_max from its env, times the
    rendered maxReplicas and --workers, plus the Jobs) fit the rendered max_client_conn."""
    _, cfg = case
    objects = build(cfg, own_db_password=False)
    container = objects.bot[0]["spec"]["template"]["spec"]["containers"][0]
    per_process = settings_from(rendered_env(container), monkeypatch).pool_max
    scaler = objects.autoscaling[0]["spec"]
    replicas = scaler.get("maxReplicas", scaler.get("maxReplicaCount"))
    jobs = [objects.migration_job, *([objects.set_webhook_job] if objects.set_webhook_job else [])]
    job_connections = sum(
        settings_from(
            rendered_env(job["spec"]["template"]["spec"]["containers"][0]), monkeypatch
        ).pool_max
        for job in jobs
    )
    demand = replicas * _workers(container) * per_process + job_connections
    pooler = next(o for o in objects.database if o["kind"] == "Pooler")
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    assert demand <= int(pooler["spec"]["pgbouncer"]["parameters"]["max_client_conn"])


def test_the_pool_check_rejects_the_bots_default_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defect 6: without BOT_DB_POOL_MAX the bot pools max_in_flight + 4 per process, and the
    prod fleet would need far more client connections than the pooler allows."""
    from tests.infra.infra_harness import stack_config

    cfg = stack_config("prod")
    objects = build(cfg, own_db_password=False)
    container = objects.bot[0]["spec"]["template"]["spec"]["containers"][0]
    env = rendered_env(container)
    del env["BOT_DB_POOL_MAX"]
    per_process = settings_from(env, monkeypatch).pool_max
    demand = cfg.autoscaling.max_replicas * _workers(container) * per_process
    pooler = next(o for o in objects.database if o["kind"] == "Pooler")
    assert demand > int(pooler["spec"]["pgbouncer"]["parameters"]["max_client_conn"])


def test_unknown_bot_names_and_bad_env_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a misspelt BOT_* name, and prod's old ``botEnv: production``."""
    from tests.infra.infra_harness import stack_config

    container = _bot_containers(stack_config("prod"))[0][1]
    env = rendered_env(container)
    with pytest.raises(AssertionError, match="BOT_DB_POOL_SIZE"):
        settings_from(env | {"BOT_DB_POOL_SIZE": "5"}, monkeypatch)
    with pytest.raises(ValidationError, match="env"):
        settings_from(env | {"BOT_ENV": "production"}, monkeypatch)


def _uvicorn_shutdown_timeout(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> float:
    """The graceful-shutdown timeout ``python -m bot serve`` gives uvicorn (read, not copied)."""
    import uvicorn

    seen: dict[str, Any] = {}

    class _Config:
        def __init__(self, *_: Any, **kwargs: Any) -> None:
            seen.update(kwargs)

    class _Server:
        def __init__(self, config: Any) -> None:
            pass

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn, "Config", _Config)
    monkeypatch.setattr(uvicorn, "Server", _Server)
    assert cli.serve(settings, 1) == 0
    return float(seen["timeout_graceful_shutdown"])


def test_grace_period_covers_the_bots_own_shutdown(
    case: tuple[str, StackConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """preStop, then the bot's real shutdown timeout (from its env and its serve code), then a
    moment to exit, all inside terminationGracePeriodSeconds."""
    _, cfg = case
    pod = build(cfg, own_db_password=False).bot[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    settings = settings_from(rendered_env(container), monkeypatch)
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    shutdown = _uvicorn_shutdown_timeout(settings, monkeypatch)
    assert pre_stop + shutdown < pod["terminationGracePeriodSeconds"]


def test_grace_check_rejects_the_old_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect 13: the old grace (preStop + drain + 5, BOT_SHUTDOWN_GRACE_S unset) was too short."""
    from tests.infra.infra_harness import stack_config

    cfg = stack_config("prod")
    pod = build(cfg, own_db_password=False).bot[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = rendered_env(container)
    del env["BOT_SHUTDOWN_GRACE_S"]
    settings = settings_from(env, monkeypatch)
    old_grace = cfg.bot.pre_stop_seconds + cfg.bot.drain_seconds + 5
    shutdown = _uvicorn_shutdown_timeout(settings, monkeypatch)
    assert not cfg.bot.pre_stop_seconds + shutdown < old_grace


_REGISTERED_NAMES = """
import json
from loadtest import options
names = []
class Recorder:
    def add_argument(self, *args, env_var, **kwargs):
        names.append(env_var)
options.register(Recorder())
print(json.dumps(names))
"""


@functools.cache
def _locust_env_names() -> frozenset[str]:
    """Every ``LOCUST_*`` name the load suite registers (its parser, fed a recorder), read in a
    child process: importing the suite imports Locust, which monkey-patches with gevent."""
    out = subprocess.run(
        [sys.executable, "-c", _REGISTERED_NAMES], capture_output=True, text=True, check=True,
        timeout=120,
    )  # fmt: skip
    return frozenset(json.loads(out.stdout.strip().splitlines()[-1]))


def test_load_generator_env_names_are_the_suites(case: tuple[str, StackConfig]) -> None:
    _, cfg = case
    objects = build(cfg, own_db_password=False).loadgen
    known = _locust_env_names()
    for where, container in _pod_containers(objects):
        env = rendered_env(container)
        unknown = sorted(n for n in env if n not in known)
        assert not unknown, f"{where}: names the load suite does not read: {unknown}"
        if container["command"][0] == "locust":
            assert env["LOCUST_PROMETHEUS_BIND"] == "0.0.0.0"  # noqa: S104 (scrapeable)


def test_emulator_command_line_is_the_emulators(case: tuple[str, StackConfig]) -> None:
    """The emulator is configured by its command line: the emulator's own parser reads it."""
    from botapi_emulator.cli import build_parser, config_from_args

    _, cfg = case
    objects = build(cfg, own_db_password=False).loadgen
    emulators = [c for _, c in _pod_containers(objects) if c["name"] == "emulator"]
    assert bool(emulators) == cfg.loadgen.emulator
    for container in emulators:
        assert container["command"][:3] == ["python", "-m", "botapi_emulator"]
        args = build_parser().parse_args(container["command"][3:])
        config_from_args(args)  # raises on an invalid value
        assert (args.host, args.port) == ("0.0.0.0", _meta.EMULATOR_PORT)  # noqa: S104
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--prot", "8081"])
