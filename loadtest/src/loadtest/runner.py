"""``python -m loadtest run --target URL``: one gated load run against any deployment.

It never starts an environment: ``python -m localenv demo`` starts the local one and runs this
command against it. Locust runs headless in a child process (its own process group, so Ctrl-C
and crashes tear it down) with the tgscale locustfile, prints live progress every 10 s and the
verdict table at the end, and writes the report folder. Exit codes: 0 all gates passed, 3 a
gate breached, 1 Locust errors only, 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot_contract.webhook import WEBHOOK_PATH
from loadtest.options import OVERRIDE_SEPARATOR
from loadtest.profiles import PROFILES_DIR, load_profile, profile_names

if TYPE_CHECKING:
    from collections.abc import Sequence

LOCUSTFILE = PROFILES_DIR.parent / "locustfile.py"
EXIT_USAGE = 2
_KNOWN_EXITS = {0, 1, 2, 3}


def build_parser() -> argparse.ArgumentParser:
    """The ``run`` command's options."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest run",
        description="Run a load profile against a deployed webhook and gate it.",
    )
    parser.add_argument("--profile", default="peak", help=f"one of {profile_names()} or a path")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="TABLE.KEY=VALUE",
        help="override one profile value (repeatable), e.g. --set shape.start=100",
    )
    parser.add_argument("--duration", type=float, help="stretch the profile to this many seconds")
    parser.add_argument("--target", required=True, help="webhook URL of the deployment to load")
    parser.add_argument("--prometheus", help="Prometheus URL for the Prometheus gates")
    parser.add_argument("--report-dir", type=Path, help="default: reports/<UTC timestamp>/")
    parser.add_argument("--emulator", help="Bot API emulator URL, for the replies gate")
    parser.add_argument(
        "--secret", help="webhook secret (default: $BOT_WEBHOOK_SECRET; first one if several)"
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


@dataclass(frozen=True)
class Wiring:
    """Where the run sends updates and what it reads its verdicts from.

    Attributes:
        host: The webhook's scheme and authority (Locust's ``-H``).
        path: The webhook's path on ``host``.
        secret: The webhook secret token, handed to Locust in its environment (not argv).
        emulator: The Bot API emulator's root, for the replies gate.
        prometheus: Prometheus's root URL, for the Prometheus gates.
    """

    host: str
    path: str
    secret: str | None
    emulator: str | None
    prometheus: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Wiring:
        """From ``--target``, ``--secret`` (or ``$BOT_WEBHOOK_SECRET``), ``--emulator`` and friends.

        Raises:
            ValueError: ``--target`` is not an http(s) URL.
        """
        host, path = split_target(args.target)
        secret = args.secret or os.environ.get("BOT_WEBHOOK_SECRET", "").split(",")[0] or None
        return cls(host, path, secret, args.emulator, args.prometheus)


def locust_command(args: argparse.Namespace, wiring: Wiring, report_dir: Path) -> list[str]:
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
        wiring.host,
        "--webhook-path",
        wiring.path,
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
    if args.set:
        command += ["--profile-set", OVERRIDE_SEPARATOR.join(args.set)]
    if args.duration:
        command += ["--shape-duration", str(args.duration)]
    if wiring.emulator:
        command += ["--emulator-url", wiring.emulator]
    if wiring.prometheus:
        command += ["--prometheus-url", wiring.prometheus]
    if args.processes:
        command += ["--processes", str(args.processes)]
    extra = list(args.locust_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return command + extra


def run_locust(command: list[str], secret: str | None) -> int:
    """Run Locust in its own process group; Ctrl-C or an error here stops all of it.

    Locust reads ``LOCUST_*`` from the environment we pass on, e.g. ``LOCUST_BOT_TOKEN`` for the
    methods of webhook answers and ``LOCUST_PROMETHEUS_PORT`` (``python -m localenv demo`` sets
    both).
    """
    env = dict(os.environ)
    if secret:
        env["LOCUST_WEBHOOK_SECRET"] = secret  # the environment, not argv: ps shows argv
    process = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603
    try:
        code = process.wait()
    except BaseException:
        _stop_group(process, timeout_s=15)
        raise
    return code if code in _KNOWN_EXITS else 1


def _stop_group(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM Locust's process group (its own session), then SIGKILL it after ``timeout_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m loadtest run``; see the module docstring for the exit codes."""
    args = build_parser().parse_args(argv)
    try:
        if any(OVERRIDE_SEPARATOR in item for item in args.set):
            raise ValueError(f"--set values must not contain {OVERRIDE_SEPARATOR!r}")
        profile = load_profile(args.profile, args.set)
        if args.duration is not None and args.duration <= 0:
            raise ValueError("--duration must be > 0")
        wiring = Wiring.from_args(args)
    except ValueError as error:
        sys.stderr.write(f"loadtest run: {error}\n")
        return EXIT_USAGE
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = args.report_dir or Path("reports") / stamp
    report_dir.mkdir(parents=True, exist_ok=True)
    duration = args.duration or profile.shape.duration_s
    sys.stdout.write(
        f"loadtest: profile {profile.name} ({profile.delivery.model} model, {duration:.0f} s) "
        f"against {args.target}; report in {report_dir}\n"
    )
    sys.stdout.flush()
    try:
        code = run_locust(locust_command(args, wiring, report_dir), wiring.secret)
    except OSError as error:
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
