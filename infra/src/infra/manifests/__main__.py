"""``python -m infra.manifests STACK [--out DIR]``: write every object of a stack to YAML.

Offline and without the Pulumi CLI: the config comes from ``Pulumi.yaml`` + ``Pulumi.<stack>.yaml``,
the objects from the same pure functions the program wraps. One object per file under
``build/manifests/<stack>/``: the chart specs as ``00-chart-*.yaml`` (pinned version and values)
and, for a platform stack, each chart's rendered children under ``chart-<name>/`` (from
``../shared/charts/``). Every object written is validated: built-in kinds against the
Kubernetes schemas of ``k8sVersion``, custom resources against the CRDs of the charts that serve
the stack (an app stack's come from its platform stack's charts).
Secret values are shown as placeholders; they exist only in the Pulumi state.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.config import ConfigError, StackConfig, load_stack
from infra.manifests import StackObjects, build, env, observability, render, validate

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


def _placeholders(objects: StackObjects) -> list[dict[str, Any]]:
    """Every object, secret values shown as placeholders."""
    filled: dict[int, dict[str, Any]] = {}
    if objects.bot_secret is not None:
        filled[id(objects.bot_secret)] = objects.bot_secret | {
            "stringData": {env.BOT_TOKEN_KEY: REDACTED, env.WEBHOOK_SECRET_KEY: REDACTED}
        }
    if objects.alertmanager_secret is not None:
        filled[id(objects.alertmanager_secret)] = objects.alertmanager_secret | {
            "stringData": {observability.ALERTMANAGER_KEY: REDACTED}
        }
    return [filled.get(id(obj), obj) for obj in objects.all_objects()]


def platform_config(project_dir: Path, cfg: StackConfig) -> StackConfig:
    """The stack whose charts serve ``cfg``'s objects: itself, or an app stack's platform."""
    if cfg.role != "app":
        return cfg
    return load_stack(project_dir, cfg.platform_stack.rsplit("/", 1)[-1])


@dataclass
class Written:
    """What :func:`write` produced."""

    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rendered: bool = False


def write(project_dir: Path, stack: str, out_dir: Path, *, charts: Path | None = None) -> Written:
    """Write the stack's objects, chart specs and (with ``charts``) the charts' rendered
    children, and validate every object written (Kubernetes ``k8sVersion`` schemas, and the
    CRDs of the charts serving the stack)."""
    cfg = load_stack(project_dir, stack)
    objects = build(cfg, own_db_password=False)
    docs = _placeholders(objects)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    result = Written()
    for index, chart in enumerate(objects.charts):
        path = out_dir / f"00-chart-{index}-{chart.resource_name}.yaml"
        path.write_text(_dump(asdict(chart)), encoding="utf-8")
        result.files.append(path)
    for index, obj in enumerate(docs, start=1):
        path = out_dir / _file_name(index, obj)
        path.write_text(_dump(obj), encoding="utf-8")
        result.files.append(path)
    if charts is None:
        return result
    result.rendered = True
    serving = [render.render(spec, charts) for spec in build(
        platform_config(project_dir, cfg), own_db_password=False
    ).charts]  # fmt: skip
    crds = validate.crd_index([crd for rendered in serving for crd in rendered.crds()])
    checked = list(docs)
    for rendered in serving if cfg.has_platform else []:
        folder = out_dir / f"chart-{rendered.spec_name}"
        folder.mkdir()
        for index, obj in enumerate(rendered.deployed, start=1):
            path = folder / _file_name(index, obj)
            path.write_text(_dump(obj), encoding="utf-8")
            result.files.append(path)
        checked += rendered.deployed
    for obj in checked:
        where = f"{obj['kind']}/{obj['metadata'].get('name')}"
        result.problems += [
            f"{where}: {e}" for e in validate.errors(obj, crds, cfg.cluster.k8s_version)
        ]
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (1: an object fails validation, 2: a bad stack)."""
    parser = argparse.ArgumentParser(prog="python -m infra.manifests", description=__doc__)
    parser.add_argument("stack", help="stack name (dev, ci, platform-prod, prod)")
    parser.add_argument(
        "--project-dir", type=Path, default=Path.cwd(), help="folder of Pulumi.yaml"
    )
    parser.add_argument("--out", type=Path, help="output folder (default build/manifests/<stack>)")
    parser.add_argument(
        "--no-render", action="store_true", help="only our objects: no chart render, no validation"
    )
    args = parser.parse_args(argv)
    out = args.out or args.project_dir / "build" / "manifests" / args.stack
    charts = None if args.no_render else render.charts_dir(args.project_dir.resolve())
    if charts is not None and not charts.is_dir():
        print(  # noqa: T201 (a CLI)
            f"error: no vendored charts at {charts} (TGSCALE_CHARTS, or --no-render)",
            file=sys.stderr,
        )
        return 2
    try:
        result = write(args.project_dir, args.stack, out, charts=charts)
    except (ConfigError, render.ChartNotVendored) as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201 (a CLI)
        return 2
    for problem in result.problems:
        print(f"invalid: {problem}", file=sys.stderr)  # noqa: T201 (a CLI)
    checked = "validated" if result.rendered else "not validated (--no-render)"
    print(f"wrote {len(result.files)} files to {out}; {checked}, {len(result.problems)} problems")  # noqa: T201
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
