"""``python -m localenv demo`` (``make demo``): the local environment plus one gated load run.

It starts the environment (:func:`localenv.environment.local_environment`), then runs ``python
-m loadtest run --target <its webhook>`` as a process, with the emulator and Prometheus wired in
and the webhook secret, bot token and Locust metrics port passed in the child's environment (not
argv: ps shows argv). Options it does not know (``--profile``, ``--duration``, ``--processes``,
``-- <Locust options>``) go to the runner unchanged. When Prometheus ran, ``python -m dashboards
preview`` draws the Bot overview over the run into ``<report-dir>/dashboard.png``. The exit code
is the runner's (0 pass, 3 gate breached, 1 Locust errors, 2 usage or set-up error).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from localenv.environment import local_environment
from localenv.loadrun import run_runner, runner_command
from localenv.process import LocalEnvError

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_USAGE = 2
#: The local environment's fleet-wide reply budget (messages/s): Telegram's paid-broadcast rate
#: (``allow_paid_broadcast``, up to 1000/s). At the free 30/s, the peak profile's 100 updates/s
#: spike would queue replies behind the limiter and fail the latency gates by design.
LOCAL_GLOBAL_REPLY_RATE = 1000.0


def build_parser() -> argparse.ArgumentParser:
    """The demo's own options; the rest go to ``python -m loadtest run``."""
    parser = argparse.ArgumentParser(
        prog="python -m localenv demo",
        description="Start the local environment and run a gated load profile against it; "
        "other options (--profile, --duration, --processes, -- LOCUST OPTIONS) go to "
        "python -m loadtest run.",
    )
    parser.add_argument("--workers", type=int, default=2, help="bot worker processes (2)")
    parser.add_argument("--report-dir", type=Path, help="default: reports/<UTC timestamp>/")
    parser.add_argument("--keep", action="store_true", help="leave the environment up after")
    parser.add_argument(
        "--prometheus-rules",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a rule file for Prometheus to evaluate (repeatable; requires Prometheus), "
        "e.g. dashboards/build/rules/tgscale.rules.yaml",
    )
    parser.add_argument(
        "--global-reply-rate",
        type=float,
        default=LOCAL_GLOBAL_REPLY_RATE,
        help="the fleet-wide reply budget in messages/s, enforced by both the bot's limiter and "
        "the emulator (default %(default)s: Telegram's paid-broadcast tier, since the peak "
        "profile replies to 100 updates/s; 30 is the free tier)",
    )
    return parser


def dashboard_preview(prometheus: str, started: datetime, out: Path) -> None:
    """Render the Bot overview dashboard over the run (what Grafana would show).

    It runs ``python -m dashboards preview`` as a command (the ``dashboards[preview]`` extra).
    A failure is reported in one line and leaves the verdict alone.
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
        sys.stdout.write(f"localenv: no dashboard preview ({error})\n")
        return
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        sys.stdout.write(f"localenv: no dashboard preview ({reason})\n")
        return
    sys.stdout.write(f"localenv: dashboard preview {out}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m localenv demo``; the exit code is the load run's."""
    args, passthrough = build_parser().parse_known_args(argv)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir: Path = args.report_dir or Path("reports") / stamp
    report_dir.mkdir(parents=True, exist_ok=True)
    rate = f"{args.global_reply_rate:g}"
    try:
        with local_environment(
            workers=args.workers,
            keep=args.keep,
            report_dir=report_dir,  # each process logs to <report_dir>/logs/<name>.log
            # One global budget for both sides: the bot's fleet-wide limiter and Telegram's (the
            # emulator's) flood control. Per-chat and per-group limits keep Telegram's values.
            bot_env={"BOT_RATE_GLOBAL_PER_S": rate},
            emulator_args=("--global-rate", rate),
            rule_files=args.prometheus_rules,
        ) as env:
            started = datetime.now(tz=UTC)
            code = run_runner(env, runner_command(env, report_dir, passthrough))
            if env.prometheus_url:
                dashboard_preview(env.prometheus_url, started, report_dir / "dashboard.png")
    except (LocalEnvError, ValueError, FileNotFoundError) as error:
        sys.stderr.write(f"localenv demo: set-up failed: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("localenv demo: interrupted\n")
        return 130
    return code
