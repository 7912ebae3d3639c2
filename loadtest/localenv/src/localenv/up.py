"""``python -m localenv up``: the local environment, kept up until Ctrl-C, to poke at.

It prints where every part listens and writes the same, with the webhook secret and the bot
token, to ``<report-dir>/environment.json`` (mode 0600; the secrets are not printed), so other
tools can be pointed at it, e.g. ``python -m loadtest run --target <webhook_url>``.
``DATABASE_URL`` replaces the embedded PostgreSQL; ``--bot-api-url`` replaces the emulator.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from localenv.environment import local_environment
from localenv.process import LocalEnvError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from localenv.environment import LocalEnv

ENVIRONMENT_FILE = "environment.json"


def build_parser() -> argparse.ArgumentParser:
    """The ``up`` command's options."""
    parser = argparse.ArgumentParser(prog="python -m localenv up", description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="bot worker processes (2)")
    parser.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    parser.add_argument(
        "--bot-api-url",
        help="use this Bot API (e.g. a local telegram-bot-api server) instead of the emulator",
    )
    parser.add_argument(
        "--report-dir", type=Path, help="environment.json and logs/ go here (reports/env-<time>/)"
    )
    parser.add_argument(
        "--prometheus-rules",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a rule file for Prometheus to evaluate (repeatable; requires Prometheus)",
    )
    return parser


def write_environment(env: LocalEnv, path: Path) -> None:
    """Write ``env`` as JSON to ``path``, readable by its owner only (it holds secrets)."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(env.to_json(), indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Start the environment, describe it, keep it up; 0 after Ctrl-C, 2 on set-up errors."""
    args = build_parser().parse_args(argv)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir: Path = args.report_dir or Path("reports") / f"env-{stamp}"
    report_dir.mkdir(parents=True, exist_ok=True)
    try:
        with local_environment(
            workers=args.workers,
            prometheus=False if args.no_prometheus else None,
            bot_api_url=args.bot_api_url,
            keep=True,
            report_dir=report_dir,
            rule_files=args.prometheus_rules,
        ) as env:
            path = report_dir / ENVIRONMENT_FILE
            write_environment(env, path)
            sys.stdout.write(f"localenv: {path} (every URL and DSN, the secret and token)\n")
            sys.stdout.flush()
    except (LocalEnvError, ValueError, FileNotFoundError) as error:
        sys.stderr.write(f"localenv up: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
