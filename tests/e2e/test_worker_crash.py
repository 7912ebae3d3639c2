"""Killing one bot worker mid-run loses no update: each is acknowledged once in the database.

The run uses the test's own database (``DATABASE_URL``), so the test can count the rows of
``processed_updates`` (primary key ``update_id``: one row per update, however often it was
delivered) against what the simulated Telegram created and what it saw acknowledged.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import psycopg

from tests.e2e import _harness
from tests.e2e._harness import descendants, is_bot_server

#: A slow steady stream: with the handler delay below, ~6 updates are in flight per worker, so
#: the killed worker surely takes some with it (their connections reset, Telegram redelivers).
PROFILE = str(Path(__file__).parent / "profiles" / "steady_in_flight.toml")
HANDLER_DELAY_MS = "1500"

#: The fixture (see _harness: no conftest here).
run_load = _harness.run_load

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e._harness import Run


def _workers(server: psutil.Process) -> list[psutil.Process]:
    """uvicorn's worker processes (multiprocessing spawn children, not the resource tracker)."""
    found = []
    for child in server.children():
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "multiprocessing" in command and "resource_tracker" not in command:
            found.append(child)
    return found


def _is_locust(proc: psutil.Process) -> bool:
    try:
        return proc.cmdline()[1:3] == ["-m", "locust"]
    except (psutil.Error, IndexError):
        return False


def test_killing_a_worker_loses_no_update(run_load: Callable[..., Run], database_url: str) -> None:
    killed: list[int] = []
    first_seen: list[float] = []

    def kill_one_worker(pid: int, elapsed_s: float) -> None:
        if killed:
            return
        servers = [p for p in descendants(pid) if is_bot_server(p)]
        workers = _workers(servers[0]) if servers else []
        # The load runs in Locust, a process of its own started once the environment is up.
        if len(workers) < 2 or not any(_is_locust(p) for p in descendants(pid)):
            return
        if not first_seen:
            first_seen.append(elapsed_s)
        # Some seconds into the load, kill one worker the hard way (no drain, no goodbye).
        if elapsed_s > first_seen[0] + 8:
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    run = run_load(
        "--profile", PROFILE, "--duration", "40", "--workers", "2",
        env={"DATABASE_URL": database_url, "BOT_TEST_HANDLER_DELAY_MS": HANDLER_DELAY_MS},
        during=kill_one_worker,
    )  # fmt: skip
    assert killed, run.output
    # Latency gates may trip while the worker restarts; losing updates is what must not happen.
    assert run.returncode in (0, 3), run.output
    totals = json.loads((run.report_dir / "summary.json").read_text())["totals"]
    assert totals["offered"] > 0
    assert totals["acked"] == totals["offered"], totals
    with psycopg.connect(database_url) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT update_id) FROM processed_updates"
        ).fetchone() or (0, 0)
    assert rows == distinct == totals["offered"]
    # The killed worker's open requests failed and were delivered again, and counted.
    assert totals["redeliveries"] >= 1, totals
    print(f"killed worker {killed[0]}; totals {totals}; rows {rows}; at {time.time():.0f}")
