"""``python -m dashboards build|check|preview``: write the generated files, check them, or render
the main dashboard from a live Prometheus to a PNG."""

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from dashboards import build
from dashboards.bot_overview import UID as MAIN_UID

DEFAULT_OUT: Final = Path("reports") / "dashboards-preview.png"


def _build(args: argparse.Namespace) -> int:
    for path in build.write(args.out, args.readme):
        print(f"wrote {path}")  # noqa: T201 (CLI output)
    return 0


def _check(args: argparse.Namespace) -> int:
    stale = build.stale(args.out, args.readme)
    for path in stale:
        print(f"stale: {path}", file=sys.stderr)  # noqa: T201 (CLI output)
    if stale:
        print("run `make dashboards` and commit the result", file=sys.stderr)  # noqa: T201
        return 1
    print(f"{args.out} is up to date")  # noqa: T201 (CLI output)
    return 0


def _preview(args: argparse.Namespace) -> int:
    try:  # the [preview] extra: matplotlib and prometheus-api-client
        from dashboards import preview
    except ModuleNotFoundError as missing:
        print(  # noqa: T201 (CLI output)
            f"preview needs the dashboards[preview] extra ({missing.name} is missing): "
            "uv sync --all-packages"
        )
        return 2
    return preview.main(args)


def _utc(text: str) -> datetime:
    """An ISO 8601 time; naive times are taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _preview_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``preview`` command's options."""
    parser.add_argument(
        "--prometheus",
        required=True,
        help="Prometheus base URL (`make dashboards-preview` runs load on a local one first)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="PNG path")
    parser.add_argument("--minutes", type=float, default=15, help="window ending at --end")
    parser.add_argument("--start", type=_utc, help="window start, ISO 8601 (UTC when naive)")
    parser.add_argument("--end", type=_utc, help="window end, ISO 8601 (default: now)")
    parser.add_argument("--dashboard", default=MAIN_UID, help="dashboard uid to draw")


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    root = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for name, handler, text in (
        ("build", _build, "write build/dashboards/*.json, build/rules/*.yaml and the README rules"),
        ("check", _check, "exit 1 when the committed generated files are stale"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--out", type=Path, default=build.BUILD_DIR, help="build folder")
        command.add_argument(
            "--readme", type=Path, default=build.README, help="README with the rule section"
        )
        command.set_defaults(handler=handler)
    preview_cmd = commands.add_parser(
        "preview", help="render the Bot overview from a Prometheus to a PNG"
    )
    _preview_arguments(preview_cmd)
    preview_cmd.set_defaults(handler=_preview)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
