"""The load suite's Locust options: profile overrides, wiring, and gate thresholds.

Registered on Locust's ``init_command_line_parser`` event, so they work in the web UI, headless,
in ``[tool.locust]`` config and across ``--master``/``--worker`` (Locust ships the master's
custom options to its workers). Each flag has an environment mirror ``LOCUST_<FLAG>``. A gate
flag left unset takes the profile's value; ``-1`` switches that gate off.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot_contract.webhook import WEBHOOK_PATH
from loadtest.profiles import DeliveryConfig, GateConfig, Profile, load_profile

if TYPE_CHECKING:
    from locust.argument_parser import LocustArgumentParser

    import argparse

#: A well-formed token (``<digits>:<[A-Za-z0-9_-]+>``); the emulator accepts any by default.
DEFAULT_BOT_TOKEN = "123456:tgscale-load-suite"  # noqa: S105 (not a secret)

#: (flag, type, help) of each gate threshold; the dest is the GateConfig field it overrides.
GATE_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--check-p95-ms", "p95_ms", float, "p95 response time per update type, ms"),
    ("--check-p99-ms", "p99_ms", float, "p99 response time per update type, ms"),
    ("--check-error-ratio", "error_ratio", float, "failed webhook requests / all requests"),
    ("--check-lag-p99-ms", "lag_p99_ms", float, "p99 delivery lag (created -> acked), ms"),
    ("--check-achieved-ratio", "min_achieved_ratio", float, "minimum acked / offered updates"),
    ("--check-bot-p99-ms", "bot_p99_ms", float, "bot-side p99 from Prometheus, ms"),
    ("--check-bot-error-ratio", "bot_error_ratio", float, "bot-side 503 ratio from Prometheus"),
    ("--check-min-replicas", "min_replicas", int, "replicas available the spike must reach"),
    ("--check-scale-up-s", "scale_up_within_s", float, "seconds from spike start to min replicas"),
    ("--check-scale-down-s", "scale_down_within_s", float, "seconds from spike end to back down"),
    ("--check-max-pinned-s", "max_pinned_s", float, "longest time the HPA may sit at max"),
)


def _env(flag: str) -> str:
    return "LOCUST_" + flag.lstrip("-").replace("-", "_").upper()


def register(parser: LocustArgumentParser) -> None:
    """Add every tgscale option to Locust's parser (call from ``init_command_line_parser``)."""

    # Locust's own add_argument (not an argument group's) knows include_in_web_ui.
    def add(flag: str, **kwargs: Any) -> None:
        parser.add_argument(flag, env_var=_env(flag), **kwargs)

    add(
        "--load-profile", default="peak", help="Load profile name or TOML path (loadtest/profiles)."
    )
    add(
        "--profile-set",
        default="",
        include_in_web_ui=False,
        help="Profile overrides 'table.key=value', separated by ';' (e.g. 'shape.start=100').",
    )
    add("--model", choices=("telegram", "open"), help="Delivery model (default: the profile's).")
    add("--max-connections", type=int, help="Telegram max_connections, 1..100 (profile's).")
    add("--shape-duration", type=float, help="Stretch the profile's shape to this many seconds.")
    add("--rate-scale", type=float, default=1.0, help="Multiply the shape's rates.")
    add("--duplicate-ratio", type=float, help="Share of acked updates resent (lost 2xx).")
    add("--max-pending", type=int, help="Cap on stored undelivered updates (profile's).")
    add(
        "--drain-s",
        type=float,
        default=10.0,
        help="After the shape ends, wait this long at most for pending updates to be acknowledged.",
    )
    add("--webhook-path", default=WEBHOOK_PATH, help="Path of the webhook on --host.")
    add(
        "--webhook-secret",
        default="",
        include_in_web_ui=False,
        help="Secret token sent in X-Telegram-Bot-Api-Secret-Token (use the env variable).",
    )
    add("--update-id-start", type=int, help="First update_id (default: from the wall clock).")
    add("--seed", type=int, help="Seed of the population (default: the profile's).")
    add("--emulator-url", default="", help="Bot API emulator root, for the replies gate.")
    add(
        "--bot-token",
        default=DEFAULT_BOT_TOKEN,
        include_in_web_ui=False,
        help="Bot token for the methods of webhook answers run against --emulator-url.",
    )
    add("--prometheus-url", default="", help="Prometheus root URL, for the Prometheus gates.")
    add("--report-dir", default="", help="Write summary.json, junit.xml and chart.png here.")
    add("--prometheus-port", type=int, default=0, help="Serve tgload_* metrics here (0: off).")
    add("--prometheus-bind", default="127.0.0.1", help="Address for --prometheus-port.")
    add(
        "--progress-interval",
        type=float,
        default=0.0,
        help="Print a progress line every N seconds (0: off).",
    )
    add("--k8s-namespace", default="", help="Namespace of the bot's Deployment/HPA (any if empty).")
    add("--k8s-deployment", default="tgbot", help="The bot's Deployment name (scaling gates).")
    add("--k8s-hpa", default="tgbot", help="The bot's HorizontalPodAutoscaler name.")
    add("--check-replies", choices=("on", "off"), help="Every update needing a reply got one.")
    for flag, _, kind, text in GATE_FLAGS:
        add(flag, type=kind, help=f"Gate: {text} (profile's value; -1 turns it off).")


@dataclass(frozen=True)
class Settings:
    """A profile with the command line's overrides applied, plus the run's wiring."""

    profile: Profile
    rate_scale: float
    drain_s: float
    webhook_path: str
    secret: str
    update_id_start: int | None
    emulator_url: str
    bot_token: str = dataclasses.field(repr=False)
    prometheus_url: str
    report_dir: str
    k8s: dict[str, str]


#: Separates the overrides of ``--profile-set`` (a TOML value may hold commas).
OVERRIDE_SEPARATOR = ";"


def split_overrides(joined: str) -> list[str]:
    """``--profile-set``'s value as a list of ``table.key=value`` overrides."""
    return [part for part in joined.split(OVERRIDE_SEPARATOR) if part.strip()]


def settings_from(options: argparse.Namespace) -> Settings:
    """Resolve ``options`` (Locust's parsed options) against the chosen profile.

    Raises:
        ValueError: an unknown profile or an invalid override.
    """
    profile = load_profile(options.load_profile, split_overrides(options.profile_set))
    delivery = profile.delivery
    overrides = {
        "model": options.model,
        "max_connections": options.max_connections,
        "duplicate_ratio": options.duplicate_ratio,
        "max_pending": options.max_pending,
    }
    delivery = dataclasses.replace(
        delivery, **{k: v for k, v in overrides.items() if v is not None}
    )
    gates = _gates(profile.gates, options)
    shape = profile.shape
    if options.shape_duration:
        shape = shape.scaled(options.shape_duration)
    population = profile.population
    if options.seed is not None:
        population = dataclasses.replace(population, seed=options.seed)
    profile = dataclasses.replace(
        profile,
        delivery=DeliveryConfig(**dataclasses.asdict(delivery)),
        gates=gates,
        shape=shape,
        population=population,
    )
    return Settings(
        profile=profile,
        rate_scale=options.rate_scale,
        drain_s=options.drain_s,
        webhook_path=options.webhook_path,
        secret=options.webhook_secret,
        update_id_start=options.update_id_start,
        emulator_url=options.emulator_url.rstrip("/"),
        bot_token=options.bot_token or DEFAULT_BOT_TOKEN,
        prometheus_url=options.prometheus_url.rstrip("/"),
        report_dir=options.report_dir,
        k8s={
            "namespace": options.k8s_namespace,
            "deployment": options.k8s_deployment,
            "hpa": options.k8s_hpa,
        },
    )


def _gates(gates: GateConfig, options: argparse.Namespace) -> GateConfig:
    changes: dict[str, Any] = {}
    for flag, field_name, _, _ in GATE_FLAGS:
        value = getattr(options, flag.lstrip("-").replace("-", "_"))
        if value is None:
            continue
        off = value < 0
        if field_name in ("p95_ms", "p99_ms"):
            changes[field_name] = {} if off else {"*": float(value)}
        else:
            changes[field_name] = None if off else value
    if options.check_replies is not None:
        changes["replies"] = options.check_replies == "on"
    return dataclasses.replace(gates, **changes)
