"""``make demo`` end to end: the whole system on this machine, a gated run, its report, teardown.

These run ``python -m localenv demo`` exactly as a user would (the local environment, Locust,
the gates and the report), so they take about a minute each.
"""

from __future__ import annotations

import json
import shutil
import signal
import xml.etree.ElementTree as ET  # our own report, not untrusted input
from typing import TYPE_CHECKING

import psutil

from loadtest.report import REPORT_FILES
from tests.e2e import _harness
from tests.e2e._harness import PROFILE, descendants, is_bot_server

#: The fixture (see _harness: no conftest here).
run_load = _harness.run_load

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e._harness import Run


def _failed_gates(summary: dict[str, object]) -> set[str]:
    gates = summary["gates"]
    assert isinstance(gates, list)
    return {g["name"] for g in gates if g["verdict"] == "fail"}


def test_short_demo_passes_its_gates_and_writes_the_report(run_load: Callable[..., Run]) -> None:
    run = run_load("--profile", PROFILE, "--duration", "30", "--workers", "2")
    assert run.returncode == 0, run.output
    for name in REPORT_FILES:
        assert (run.report_dir / name).stat().st_size > 0, name
    summary = json.loads((run.report_dir / "summary.json").read_text())
    assert _failed_gates(summary) == set()
    assert summary["totals"]["offered"] > 0
    assert summary["totals"]["acked"] == summary["totals"]["offered"]
    junit = ET.parse(run.report_dir / "junit.xml").getroot()  # noqa: S314 (our own file)
    cases = junit.findall(".//testcase")
    assert len(cases) == len(summary["gates"])
    assert not junit.findall(".//failure")
    assert (run.report_dir / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if shutil.which("prometheus"):  # the Bot overview, drawn from the run's Prometheus data
        assert (run.report_dir / "dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "dashboard preview" in run.output
    assert "locust" in (run.report_dir / "locust.html").read_text().lower()
    logs = {p.name for p in (run.report_dir / "logs").iterdir()}
    assert {"bot.log", "emulator.log", "postgres.log", "migrate.log", "set-webhook.log"} <= logs
    assert str(run.report_dir) in run.output  # the verdict table points at the report
    # Teardown: the bot, its workers, the emulator, PostgreSQL, Prometheus are gone.
    assert len(run.processes) >= 5
    assert run.leftovers() == []


def test_a_slow_bot_fails_the_latency_gate(run_load: Callable[..., Run]) -> None:
    run = run_load(
        "--profile", PROFILE, "--duration", "20", "--workers", "2",
        env={"BOT_TEST_HANDLER_DELAY_MS": "600"},
    )  # fmt: skip
    assert run.returncode == 3, run.output
    summary = json.loads((run.report_dir / "summary.json").read_text())
    failed = _failed_gates(summary)
    assert any(name.startswith("p95") for name in failed), failed
    assert "CHECK FAILED" in run.output or "FAIL" in run.output
    assert run.leftovers() == []


def test_ctrl_c_mid_run_tears_everything_down(run_load: Callable[..., Run]) -> None:
    sent: list[int] = []
    bot_seen_at: list[float] = []

    def interrupt(pid: int, elapsed_s: float) -> None:
        if not bot_seen_at and any(is_bot_server(p) for p in descendants(pid)):
            bot_seen_at.append(elapsed_s)
        # A few seconds after the bot is up, Locust is running: press Ctrl-C.
        if bot_seen_at and not sent and elapsed_s > bot_seen_at[0] + 8:
            psutil.Process(pid).send_signal(signal.SIGINT)
            sent.append(pid)

    run = run_load("--profile", PROFILE, "--duration", "60", during=interrupt)
    assert sent, run.output
    assert run.returncode != 0
    assert len(run.processes) >= 4
    assert run.leftovers() == []


def test_a_crashed_bot_aborts_the_run_and_tears_down(run_load: Callable[..., Run]) -> None:
    killed: list[int] = []
    seen_at: list[float] = []

    def crash_the_bot(pid: int, elapsed_s: float) -> None:
        servers = [p for p in descendants(pid) if is_bot_server(p)]
        if servers and not seen_at:
            seen_at.append(elapsed_s)
        if servers and not killed and elapsed_s > seen_at[0] + 8:
            servers[0].kill()  # SIGKILL: no drain, its workers are orphaned in its group
            killed.append(servers[0].pid)

    run = run_load("--profile", PROFILE, "--duration", "60", during=crash_the_bot)
    assert killed, run.output
    assert run.returncode == 2, run.output
    assert "bot exited unexpectedly (status signal SIGKILL)" in run.output
    assert run.leftovers() == []
