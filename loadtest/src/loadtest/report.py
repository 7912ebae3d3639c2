"""The report folder: ``summary.json``, ``junit.xml`` and ``chart.png`` (Locust adds its own
``locust.html``, ``locust_stats.csv`` and ``locust_stats_history.csv`` next to them).

``summary.json`` holds the profile, the totals, every gate and the per-second timeline; the
JUnit file has one test case per gate (a failed gate is a ``<failure>``, an n/a one a
``<skipped>``) so CI annotates the breach; the chart plots the timeline over time.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import matplotlib as mpl

mpl.use("Agg")  # headless: no display on CI or in a Locust process
import matplotlib.pyplot as plt

from loadtest.runtime import current_runtime

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from loadtest.gates import GateResult

SUMMARY = "summary.json"
JUNIT = "junit.xml"
CHART = "chart.png"
#: Every file a run leaves in its report folder: ours, then Locust's (the runner asks for them).
REPORT_FILES = (
    SUMMARY,
    JUNIT,
    CHART,
    "locust.html",
    "locust_stats.csv",
    "locust_stats_history.csv",
)


@dataclass(frozen=True)
class Totals:
    """The run's counts and rates (``summary.json`` ``totals``)."""

    offered: int
    acked: int
    expired: int
    redeliveries: int
    requests: int
    failures: int
    duplicates_injected: int
    not_created: int
    pending_at_end: int
    offered_rate: float
    achieved_rate: float
    lag_p50_ms: int | None
    lag_p99_ms: int | None
    #: Methods of 2xx webhook answers run against the emulator (users.py), by outcome.
    body_replies: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TypeLatency:
    """Requests and response-time percentiles of one update type (``summary.json`` ``by_type``)."""

    requests: int
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None


@dataclass(frozen=True)
class Summary:
    """Everything ``summary.json`` holds but the gates; :func:`write_summary` adds those."""

    profile: str
    description: str
    model: str
    max_connections: int
    shape: dict[str, Any]
    rate_scale: float
    started_at: float
    ended_at: float
    duration_s: float
    totals: Totals
    by_type: dict[str, TypeLatency]
    offered_by_type: dict[str, int]
    acked_by_type: dict[str, int]
    deliveries: dict[str, int]
    timeline: list[dict[str, Any]]

    def to_json(self, gates: Sequence[GateResult]) -> dict[str, Any]:
        """The JSON object of ``summary.json``: these fields plus ``gates``."""
        return {**asdict(self), "gates": [asdict(g) for g in gates]}


def write_summary(folder: Path, summary: Summary, gates: list[GateResult]) -> Path:
    """Write ``summary.json`` (the summary plus every gate) and return its path."""
    path = folder / SUMMARY
    runtime = current_runtime()
    if runtime is not None:
        body_replies = dict(runtime.aggregate.body_replies)
        summary = replace(summary, totals=replace(summary.totals, body_replies=body_replies))
    data = summary.to_json(gates)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def write_junit(folder: Path, profile: str, gates: list[GateResult]) -> Path:
    """Write ``junit.xml`` with one test case per gate."""
    failures = sum(g.verdict == "fail" for g in gates)
    skipped = sum(g.verdict == "n/a" for g in gates)
    suite = ET.Element(
        "testsuite",
        name=f"tgscale load gates ({profile})",
        tests=str(len(gates)),
        failures=str(failures),
        skipped=str(skipped),
        errors="0",
    )
    for gate in gates:
        case = ET.SubElement(suite, "testcase", classname=f"loadtest.{profile}", name=gate.name)
        if gate.verdict == "fail":
            ET.SubElement(case, "failure", message=gate.line()).text = gate.line()
        elif gate.verdict == "n/a":
            ET.SubElement(case, "skipped", message=gate.reason or "not applicable")
    path = folder / JUNIT
    tree = ET.ElementTree(suite)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def write_chart(
    folder: Path,
    timeline: list[dict[str, Any]],
    title: str,
    replicas: list[tuple[float, float]] | None = None,
) -> Path:
    """Plot the timeline: rates, latency percentiles, errors, delivery lag (and replicas)."""
    t = [row["t"] for row in timeline]
    panels = 4 + (1 if replicas else 0)
    fig, axes = plt.subplots(panels, 1, figsize=(10, 2.4 * panels), sharex=True)
    ax = axes[0]
    ax.plot(t, [r["target_rate"] for r in timeline], label="target", linestyle="--")
    ax.plot(t, [r["offered_rate"] for r in timeline], label="offered")
    ax.plot(t, [r["achieved_rate"] for r in timeline], label="achieved (acked)")
    ax.set_ylabel("updates/s")
    ax.legend(loc="upper left", fontsize="small")
    ax = axes[1]
    for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
        ax.plot(t, [r[key] for r in timeline], label=label)
    ax.set_ylabel("response ms")
    ax.legend(loc="upper left", fontsize="small")
    ax = axes[2]
    ax.plot(t, [r["failure_rate"] for r in timeline], label="failed requests/s", color="red")
    ax.plot(t, [r["redelivery_rate"] for r in timeline], label="redeliveries/s", color="orange")
    ax.set_ylabel("per second")
    ax.legend(loc="upper left", fontsize="small")
    ax = axes[3]
    ax.plot(t, [r["lag_p99_ms"] for r in timeline], label="delivery lag p99 (ms)")
    ax.set_ylabel("lag ms")
    twin = ax.twinx()
    twin.plot(t, [r["pending"] for r in timeline], label="pending updates", color="grey")
    twin.set_ylabel("pending")
    lines = ax.get_legend_handles_labels()
    twin_lines = twin.get_legend_handles_labels()
    ax.legend(
        lines[0] + twin_lines[0], lines[1] + twin_lines[1], loc="upper left", fontsize="small"
    )
    if replicas:
        ax = axes[4]
        ax.step([x for x, _ in replicas], [y for _, y in replicas], where="post", label="replicas")
        ax.set_ylabel("replicas")
        ax.legend(loc="upper left", fontsize="small")
    axes[-1].set_xlabel("seconds into the run")
    fig.suptitle(title)
    fig.tight_layout()
    path = folder / CHART
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
