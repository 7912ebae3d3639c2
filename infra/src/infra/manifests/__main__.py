"""``python -m infra.manifests STACK [--out DIR]``: write every object of a stack to YAML.

Offline and without the Pulumi CLI: the config comes from ``Pulumi.yaml`` + ``Pulumi.<stack>.yaml``,
the objects from the same pure functions the program wraps. One object per file under
``build/manifests/<stack>/`` (charts as ``chart-<name>.yaml`` with their pinned version and values).
Secret values are shown as placeholders; they exist only in the Pulumi state.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from infra.config import ConfigError, load_stack
from infra.manifests import build, observability

REDACTED = "<secret: set with `pulumi config set --secret`>"


class _PlainDumper(yaml.SafeDumper):
    """Writes shared sub-dicts (e.g. a selector reused in a spread constraint) in full, without
    YAML anchors, so each file reads like what ``kubectl get -o yaml`` would show."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 (the signature is PyYAML's)
        return True


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False)


def _file_name(index: int, obj: dict[str, Any]) -> str:
    namespace = obj["metadata"].get("namespace", "cluster")
    return f"{index:02d}-{obj['kind'].lower()}-{namespace}-{obj['metadata']['name']}.yaml"


def write(project_dir: Path, stack: str, out_dir: Path) -> list[Path]:
    """Write the stack's objects and chart specs; returns the files written."""
    cfg = load_stack(project_dir, stack)
    objects = build(cfg, own_db_password=False)
    secret = dict(objects.bot_secret)
    secret["stringData"] = {"BOT_TOKEN": REDACTED, "BOT_WEBHOOK_SECRET": REDACTED}
    placeholders = {
        id(objects.bot_secret): secret,
        **(
            {
                id(objects.alertmanager_secret): objects.alertmanager_secret
                | {"stringData": {observability.ALERTMANAGER_KEY: REDACTED}}
            }
            if objects.alertmanager_secret
            else {}
        ),
    }
    docs = [placeholders.get(id(obj), obj) for obj in objects.all_objects()]
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    written = []
    for index, chart in enumerate(objects.charts):
        path = out_dir / f"00-chart-{index}-{chart.resource_name}.yaml"
        path.write_text(_dump(asdict(chart)), encoding="utf-8")
        written.append(path)
    for index, obj in enumerate(docs, start=1):
        path = out_dir / _file_name(index, obj)
        path.write_text(_dump(obj), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on a bad stack)."""
    parser = argparse.ArgumentParser(prog="python -m infra.manifests", description=__doc__)
    parser.add_argument("stack", help="stack name (dev, ci, prod)")
    parser.add_argument(
        "--project-dir", type=Path, default=Path.cwd(), help="folder of Pulumi.yaml"
    )
    parser.add_argument("--out", type=Path, help="output folder (default build/manifests/<stack>)")
    args = parser.parse_args(argv)
    out = args.out or args.project_dir / "build" / "manifests" / args.stack
    try:
        written = write(args.project_dir, args.stack, out)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201 (a CLI)
        return 2
    print(f"wrote {len(written)} files to {out}")  # noqa: T201 (a CLI)
    return 0


if __name__ == "__main__":
    sys.exit(main())
