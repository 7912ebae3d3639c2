"""``python -m dashboards preview``: draw a dashboard's panels from Prometheus data to a PNG.

Grafana cannot run here, so this is a picture of what it would show: every panel of the Bot
overview at its grid position, time series as lines with Grafana's legend templates, stat panels
as their last value. It draws from the Prometheus given by ``--prometheus``; it starts nothing.
``python -m localenv demo`` (``make demo``, ``make dashboards-preview``) calls it after the run
to put ``dashboard.png`` in its report. It needs the ``dashboards[preview]`` extra (matplotlib,
prometheus-api-client); building the dashboards does not.
"""

import argparse
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import matplotlib as mpl

mpl.use("Agg")  # files only; no display here or in CI

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException

from dashboards import all_dashboards
from dashboards.promql import expand

_BG, _PANEL, _TEXT, _GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
_COLORS: Final = ("#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9")
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_MAX_LINES: Final = 8


def format_value(value: float, unit: str) -> str:
    """A number as Grafana would print it for ``unit``."""
    if not math.isfinite(value):
        return "No data"
    if abs(value) < 1e-9:  # float noise around zero would print as -0.0
        value = 0.0
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "percentunit":
        return f"{value * 100:.3g} %"
    if unit == "reqps":
        return f"{value:.3g} req/s"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def legend(template: str, labels: Mapping[str, str]) -> str:
    """Fill a Grafana legend template (``{{pod}} {{outcome}}``) from a series' labels."""
    if not template:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return _LEGEND.sub(lambda match: labels.get(match.group(1), ""), template).strip() or "-"


def range_query(
    client: PrometheusConnect, promql: str, start: datetime, end: datetime, step: str
) -> list[dict[str, Any]]:
    """A range query's matrix (``[{"metric": {...}, "values": [[t, "v"], ...]}, ...]``)."""
    data: list[dict[str, Any]] = client.custom_query_range(
        promql, start_time=start, end_time=end, step=step
    )
    return data


def _series(
    client: PrometheusConnect, target: dict[str, Any], start: datetime, end: datetime, step: str
) -> list[tuple[str, list[float], list[float]]]:
    promql = expand(target["expr"], _variables(start, end))
    out = []
    for item in range_query(client, promql, start, end, step):
        times = [float(t) for t, _ in item["values"]]  # epoch seconds; ticks print UTC clock
        values = [float(v) for _, v in item["values"]]
        out.append((legend(target.get("legendFormat", ""), item["metric"]), times, values))
    return out


def _variables(start: datetime, end: datetime) -> dict[str, str]:
    seconds = max(int((end - start).total_seconds()), 60)
    return {"__range": f"{seconds}s", "__rate_interval": "15s", "__interval": "5s"}


def _style(ax: Axes, title: str) -> None:
    ax.set_facecolor(_PANEL)
    ax.set_title(title, color=_TEXT, fontsize=9, loc="left")
    for spine in ax.spines.values():
        spine.set_color(_GRID)
    ax.tick_params(colors=_TEXT, labelsize=7)


def _draw_timeseries(ax: Axes, panel: dict[str, Any], lines: list[Any]) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    _style(ax, panel["title"])
    ax.grid(color=_GRID, linewidth=0.5)
    for index, (name, times, values) in enumerate(lines[:_MAX_LINES]):
        ax.plot(times, values, color=_COLORS[index % len(_COLORS)], linewidth=1.2, label=name)
    if panel.get("fieldConfig", {}).get("defaults", {}).get("min") == 0:
        ax.set_ylim(bottom=0)
    if not lines:
        ax.text(0.5, 0.5, "No data", color=_TEXT, ha="center", va="center", transform=ax.transAxes)
    ax.xaxis.set_major_formatter(lambda x, _: f"{datetime.fromtimestamp(x, UTC):%H:%M:%S}")
    ax.yaxis.set_major_formatter(lambda y, _: format_value(y, unit))
    if lines:
        extra = f" (+{len(lines) - _MAX_LINES} more)" if len(lines) > _MAX_LINES else ""
        ax.legend(fontsize=6, loc="upper left", facecolor=_PANEL, labelcolor=_TEXT, framealpha=0.7,
                  title=extra or None, title_fontsize=6)  # fmt: skip


def _draw_stat(ax: Axes, panel: dict[str, Any], lines: list[Any]) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    _style(ax, panel["title"])
    ax.set_xticks([])
    ax.set_yticks([])
    finite = [v for _, _, values in lines for v in values if math.isfinite(v)]
    value = sum(values[-1] for _, _, values in lines if values) if finite else math.nan
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
    red = [s["value"] for s in steps if s.get("value") is not None]
    color = "#f2495c" if red and math.isfinite(value) and value >= red[0] else "#73bf69"
    ax.text(0.5, 0.45, format_value(value, unit), color=color, fontsize=20, ha="center",
            va="center", transform=ax.transAxes, fontweight="bold")  # fmt: skip


def render(model: dict[str, Any], url: str, start: datetime, end: datetime, out: Path) -> list[str]:
    """Draw every panel of ``model`` from the Prometheus at ``url``; returns empty panel titles."""
    client = PrometheusConnect(url=url, disable_ssl=True)
    step = f"{max(1, int((end - start).total_seconds() // 240))}s"
    panels = model["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(22, rows * 0.42), facecolor=_BG)
    # One grid cell per Grafana grid unit; a panel's first unit holds its title and its last
    # one its tick labels, so neighbours never overlap.
    grid = fig.add_gridspec(rows, 24, hspace=0, wspace=1.6, left=0.045, right=0.99, top=0.95)
    fig.suptitle(f"{model['title']}   {start:%Y-%m-%d %H:%M:%S} → {end:%H:%M:%S} UTC",
                 color=_TEXT, fontsize=13, x=0.01, ha="left")  # fmt: skip
    empty = []
    for panel in panels:
        pos = panel["gridPos"]
        if panel["type"] == "row":
            ax = fig.add_subplot(grid[pos["y"], :])
            ax.axis("off")
            ax.text(0, 0.5, panel["title"], color=_TEXT, fontsize=12, fontweight="bold", va="top")
            continue
        top, bottom = pos["y"] + 1, pos["y"] + pos["h"] - 1
        ax = fig.add_subplot(grid[top:bottom, pos["x"] : pos["x"] + pos["w"]])
        lines = [line for t in panel["targets"] for line in _series(client, t, start, end, step)]
        if not lines:
            empty.append(panel["title"])
        (_draw_stat if panel["type"] == "stat" else _draw_timeseries)(ax, panel, lines)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=_BG)
    plt.close(fig)
    return empty


def _say(line: str) -> None:
    print(f"preview: {line}", flush=True)  # noqa: T201 (progress output)


def main(args: argparse.Namespace) -> int:
    """Render the preview PNG; returns the exit code (2 when Prometheus cannot be queried)."""
    model = all_dashboards()[f"{args.dashboard}.json"]
    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(minutes=args.minutes)
    try:
        empty = render(model, args.prometheus, start, end, args.out)
    except (OSError, PrometheusApiClientException) as exc:
        _say(f"cannot query Prometheus at {args.prometheus}: {exc}")
        return 2
    _say(f"wrote {args.out} ({len(model['panels'])} panels, {len(empty)} without data)")
    for title in empty:
        _say(f"  no data: {title}")
    return 0
