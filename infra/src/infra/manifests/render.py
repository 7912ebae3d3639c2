"""Render the pinned charts offline, as ``helm.v4.Chart`` would, from the vendored archives.

The archives live in ``../shared/charts/`` next to the repository (``TGSCALE_CHARTS`` overrides),
named ``<chart>-<version>.tgz``. helm-python-sdk (the Helm v4 SDK, no binary, no cluster) renders
them with the program's values, so tests and ``make manifests`` see the chart's real children.
Pulumi's Chart is ``helm template`` plus Pulumi: lifecycle hooks become ordinary objects (never
run at their hook time) and ``test`` hooks are skipped, which :attr:`RenderedChart.deployed`
mirrors.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from infra.manifests.platform import ChartSpec

HOOK = "helm.sh/hook"
#: A fixed Grafana admin password for renders (kps otherwise makes a random one per render).
RENDER_GRAFANA_PASSWORD = "render-placeholder"  # noqa: S105 (not a secret)


class ChartNotVendored(FileNotFoundError):
    """The pinned chart version has no archive in the charts folder."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads a bare ``=`` (an enum value in the Prometheus CRDs) as a string."""


_Loader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)  # type: ignore[type-var]


def charts_dir(project_dir: Path) -> Path:
    """Where the vendored chart archives are."""
    return Path(os.environ.get("TGSCALE_CHARTS", project_dir.parent / "shared" / "charts"))


def archive(folder: Path, chart: str, version: str) -> Path:
    """The archive of ``chart`` at ``version``; raises :class:`ChartNotVendored` if absent."""
    path = folder / f"{chart}-{version}.tgz"
    if not path.is_file():
        raise ChartNotVendored(f"{chart} {version} is not vendored in {folder}")
    return path


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict) and d.get("kind")]


def _is_test_hook(obj: dict[str, Any]) -> bool:
    events = (obj["metadata"].get("annotations") or {}).get(HOOK, "")
    return any(e.strip().startswith("test") for e in events.split(",") if e.strip())


@dataclass(frozen=True)
class RenderedChart:
    """What one chart renders to."""

    spec_name: str
    version: str
    #: Every rendered template object (NOTES.txt excluded), hooks included.
    objects: list[dict[str, Any]]
    #: CRDs of the chart's (enabled) ``crds/`` folders, which ``render()`` leaves out.
    crd_files: list[dict[str, Any]]

    @property
    def hooks(self) -> list[dict[str, Any]]:
        """Rendered objects with a ``helm.sh/hook`` annotation."""
        return [o for o in self.objects if HOOK in (o["metadata"].get("annotations") or {})]

    @property
    def deployed(self) -> list[dict[str, Any]]:
        """What ``helm.v4.Chart`` creates: CRDs, then every object but the ``test`` hooks."""
        kept = [o for o in self.objects if not _is_test_hook(o)]
        return [*self.crd_files, *kept]

    def crds(self) -> list[dict[str, Any]]:
        """Every CRD the chart installs (``crds/`` folders and templates)."""
        return [o for o in self.deployed if o["kind"] == "CustomResourceDefinition"]


def render(spec: ChartSpec, folder: Path) -> RenderedChart:
    """Render ``spec`` from its vendored archive with its values (cached per values)."""
    values = json.dumps(render_values(spec), sort_keys=True)
    return _render(spec.resource_name, spec.chart, spec.version, spec.release_name,
                   spec.namespace, values, str(folder))  # fmt: skip


def render_values(spec: ChartSpec) -> dict[str, Any]:
    """The spec's values with the render-only fixes (a fixed Grafana password)."""
    values: dict[str, Any] = json.loads(json.dumps(spec.values))
    if spec.chart == "kube-prometheus-stack":
        values.setdefault("grafana", {})["adminPassword"] = RENDER_GRAFANA_PASSWORD
    return values


@functools.cache
def _render(
    name: str, chart_name: str, version: str, release: str, namespace: str, values: str, folder: str
) -> RenderedChart:
    import helm_python as helm  # a dev dependency: only renders need it

    with helm.Chart.load(archive(Path(folder), chart_name, version)) as chart:
        parsed = json.loads(values)
        chart.validate_schema(parsed)
        out = chart.render(parsed, name=release, namespace=namespace, is_install=True)
        objects = [
            doc
            for path, text in sorted(out.items())
            if not path.endswith("NOTES.txt")
            for doc in _docs(text)
        ]
        crd_files = [doc for f in chart.crds for doc in _docs(f["data"])]
    if chart_name == "kube-prometheus-stack" and not parsed.get("crds", {}).get("enabled", True):
        crd_files = []
    # Helm puts namespaced objects without a namespace into the release namespace.
    for obj in objects:
        obj.setdefault("metadata", {})
    return RenderedChart(name, version, objects, crd_files)
