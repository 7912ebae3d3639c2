"""``python -m loadtest run``: one gated load run, against the local environment or a target.

Without ``--target`` it starts the local environment (embedded PostgreSQL, bot workers, the
Bot API emulator, Prometheus when installed; ``loadtest.localenv``) and runs the profile
against it; with ``--target URL`` it gates an existing webhook. Locust runs headless in a
child process (its own process group, so Ctrl-C and crashes tear it down) with the tgscale
locustfile, prints live progress every 10 s and the verdict table at the end, and writes the
report folder. Exit codes: 0 all gates passed, 3 a gate breached, 1 Locust errors only,
2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot_contract.webhook import WEBHOOK_PATH
from loadtest._process import stop_group
from loadtest.profiles import PROFILES_DIR, load_profile, profile_names

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

LOCUSTFILE = PROFILES_DIR.parent / "locustfile.py"
EXIT_USAGE = 2
_KNOWN_EXITS = {0, 1, 2, 3}

#: The local environment's fleet-wide reply budget (messages/s): Telegram's paid-broadcast rate
#: (``allow_paid_broadcast``, up to 1000/s). At the free 30/s, the peak profile's 100 updates/s
#: spike would queue replies behind the limiter and fail the latency gates by design.
LOCAL_GLOBAL_REPLY_RATE = 1000.0


def build_parser() -> argparse.ArgumentParser:
    """The ``run`` command's options."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest run",
        description="Run a load profile and gate it (local environment, or --target URL).",
    )
    parser.add_argument("--profile", default="peak", help=f"one of {profile_names()} or a path")
    parser.add_argument("--duration", type=float, help="stretch the profile to this many seconds")
    parser.add_argument("--workers", type=int, default=2, help="bot worker processes (local)")
    parser.add_argument("--target", help="webhook URL of an existing deployment (skips local)")
    parser.add_argument("--prometheus", help="Prometheus URL for the Prometheus gates")
    parser.add_argument("--report-dir", type=Path, help="default: reports/<UTC timestamp>/")
    parser.add_argument("--keep", action="store_true", help="leave the local environment up")
    parser.add_argument(
        "--prometheus-rules",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help=(
            "local environment only: a rule file for its Prometheus to evaluate (repeatable; "
            "requires Prometheus), e.g. dashboards/build/rules/tgscale.rules.yaml"
        ),
    )
    parser.add_argument("--emulator", help="Bot API emulator URL, for the replies gate")
    parser.add_argument(
        "--secret", help="webhook secret (default: $BOT_WEBHOOK_SECRET; first one if several)"
    )
    parser.add_argument(
        "--global-reply-rate",
        type=float,
        default=LOCAL_GLOBAL_REPLY_RATE,
        help=(
            "local environment only: the fleet-wide reply budget in messages/s, enforced by both "
            "the bot's limiter and the emulator (default %(default)s: Telegram's paid-broadcast "
            "tier, since the peak profile replies to 100 updates/s; 30 is the free tier)"
        ),
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="Locust generator processes (--processes; 0: one process)",
    )
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=10.0,
        help="seconds between progress lines (0: off)",
    )
    parser.add_argument(
        "locust_args",
        nargs=argparse.REMAINDER,
        help="after --: extra Locust options, e.g. -- --check-p95-ms 200",
    )
    return parser


def split_target(url: str) -> tuple[str, str]:
    """``http://h:8080/telegram/webhook`` → (``http://h:8080``, ``/telegram/webhook``).

    Raises:
        ValueError: not an http(s) URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--target must be an http(s) URL, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}", parts.path or WEBHOOK_PATH


def locust_command(
    args: argparse.Namespace,
    *,
    host: str,
    path: str,
    report_dir: Path,
    emulator: str | None,
    prometheus: str | None,
    metrics_port: int | None = None,
) -> list[str]:
    """The headless Locust command line for this run."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-H",
        host,
        "--webhook-path",
        path,
        "--load-profile",
        args.profile,
        "--report-dir",
        str(report_dir),
        "--html",
        str(report_dir / "locust.html"),
        "--csv",
        str(report_dir / "locust"),
        "--json-file",
        str(report_dir / "locust_stats"),
        "--progress-interval",
        str(args.progress_interval),
    ]
    if args.duration:
        command += ["--shape-duration", str(args.duration)]
    if emulator:
        command += ["--emulator-url", emulator]
    if prometheus:
        command += ["--prometheus-url", prometheus]
    if metrics_port:
        command += ["--prometheus-port", str(metrics_port)]
    if args.processes:
        command += ["--processes", str(args.processes)]
    extra = list(args.locust_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return command + extra


def run_locust(command: list[str], secret: str | None, bot_token: str | None = None) -> int:
    """Run Locust in its own process group; Ctrl-C or an error here stops all of it."""
    env = dict(os.environ)
    if secret:
        env["LOCUST_WEBHOOK_SECRET"] = secret  # the environment, not argv: ps shows argv
    if bot_token:  # for the methods of webhook answers run against the emulator
        env["LOCUST_BOT_TOKEN"] = bot_token
    process = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603
    try:
        code = process.wait()
    except BaseException:
        stop_group(process, timeout_s=15)
        raise
    return code if code in _KNOWN_EXITS else 1


@contextlib.contextmanager
def _environment(args: argparse.Namespace, report_dir: Path) -> Iterator[dict[str, Any]]:
    """The wiring: from --target and friends, or from the local environment."""
    if args.target:
        host, path = split_target(args.target)
        secret = args.secret or os.environ.get("BOT_WEBHOOK_SECRET", "").split(",")[0] or None
        yield {
            "host": host,
            "path": path,
            "secret": secret,
            "emulator": args.emulator,
            "prometheus": args.prometheus,
            "metrics_port": None,
            "bot_token": None,
        }
        return
    # Imported by name: only the local path needs it, and another engineer owns the module.
    try:
        localenv: Any = importlib.import_module("loadtest.localenv")
    except ModuleNotFoundError as missing:
        raise ValueError(
            f"the local environment is not available ({missing}); pass --target URL"
        ) from None
    with localenv.local_environment(
        workers=args.workers,
        # A --prometheus URL replaces the local one; otherwise start it when installed.
        prometheus=False if args.prometheus else None,
        keep=args.keep,
        report_dir=report_dir,  # each process logs to <report_dir>/logs/<name>.log
        # One global budget for both sides: the bot's fleet-wide limiter and Telegram's (the
        # emulator's) flood control. Per-chat and per-group limits keep Telegram's values.
        bot_env={"BOT_RATE_GLOBAL_PER_S": f"{args.global_reply_rate:g}"},
        emulator_args=("--global-rate", f"{args.global_reply_rate:g}"),
        rule_files=args.prometheus_rules,
    ) as env:
        host, path = split_target(env.webhook_url)
        yield {
            "host": host,
            "path": path,
            "secret": env.secret,
            "emulator": args.emulator or env.emulator_url,
            "prometheus": args.prometheus or env.prometheus_url,
            "metrics_port": getattr(env, "locust_metrics_port", None),
            "bot_token": getattr(env, "bot_token", None),
        }
        if args.keep:
            sys.stdout.write(
                f"environment kept: webhook {env.webhook_url}  emulator {env.emulator_url}  "
                f"prometheus {env.prometheus_url or '-'}\n"
            )


def dashboard_preview(prometheus: str, started: datetime, out: Path) -> None:
    """Render the Bot overview dashboard over the run into the report (what Grafana would show).

    It runs ``python -m dashboards preview`` as a command (the load suite never imports the
    dashboards package). A failure is reported in one line and leaves the verdict alone.
    """
    command = [
        sys.executable, "-m", "dashboards", "preview", "--prometheus", prometheus,
        "--start", started.isoformat(), "--out", str(out),
    ]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 (our own interpreter and module)
            command, capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        sys.stdout.write(f"loadtest: no dashboard preview ({error})\n")
        return
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        sys.stdout.write(f"loadtest: no dashboard preview ({reason})\n")
        return
    sys.stdout.write(f"loadtest: dashboard preview {out}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m loadtest run``; see the module docstring for the exit codes."""
    args = build_parser().parse_args(argv)
    try:
        profile = load_profile(args.profile)
        if args.duration is not None and args.duration <= 0:
            raise ValueError("--duration must be > 0")
        if args.prometheus_rules and (args.target or args.prometheus):
            raise ValueError("--prometheus-rules is for the local environment's own Prometheus")
    except ValueError as error:
        sys.stderr.write(f"loadtest run: {error}\n")
        return EXIT_USAGE
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = args.report_dir or Path("reports") / stamp
    report_dir.mkdir(parents=True, exist_ok=True)
    duration = args.duration or profile.shape.duration_s
    where = args.target or "the local environment"
    sys.stdout.write(
        f"loadtest: profile {profile.name} ({profile.delivery.model} model, {duration:.0f} s) "
        f"against {where}; report in {report_dir}\n"
    )
    sys.stdout.flush()
    try:
        with _environment(args, report_dir) as wiring:
            command = locust_command(
                args,
                host=wiring["host"],
                path=wiring["path"],
                report_dir=report_dir,
                emulator=wiring["emulator"],
                prometheus=wiring["prometheus"],
                metrics_port=wiring["metrics_port"],
            )
            started = datetime.now(tz=UTC)
            code = run_locust(command, wiring["secret"], wiring["bot_token"])
            if wiring["prometheus"]:
                dashboard_preview(wiring["prometheus"], started, report_dir / "dashboard.png")
    except (ValueError, ImportError, OSError) as error:
        sys.stderr.write(f"loadtest run: set-up failed: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("loadtest run: interrupted\n")
        return 130
    verdict = {
        0: "all gates passed",
        3: "a gate breached",
        1: "Locust errors",
        2: "usage or set-up error",
    }[code]
    sys.stdout.write(f"loadtest: {verdict} (exit {code}); report: {report_dir.resolve()}\n")
    return code
