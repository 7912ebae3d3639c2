"""Helpers and the ``run_load`` fixture for the end-to-end load tests (``load`` marker).

The fixture is assigned into each test module (``run_load = _harness.run_load``) rather than
served from a ``tests/e2e/conftest.py``: the load suite's tests import their own conftest by
module name, and one pytest process runs both folders.

They run ``python -m localenv demo`` and watch its processes.

Each run is a child process in its own session (killed as a group if the test fails), whose
descendants and listening TCP ports are sampled while it runs, so tests can assert that nothing
is left behind afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from tests.support.processes import interruptible

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

#: The peak shape at rates that stay within Telegram's free 30 msg/s reply budget (see the file's
#: comments), so these tests pass whatever ``--global-reply-rate`` the runner defaults to.
PROFILE = str(Path(__file__).parent / "profiles" / "peak_under_limits.toml")


@dataclass
class Run:
    """One finished ``python -m localenv demo``: exit code, output, what it started."""

    returncode: int
    output: str
    report_dir: Path
    processes: dict[int, psutil.Process] = field(default_factory=dict)
    ports: set[int] = field(default_factory=set)

    def leftovers(self) -> list[str]:
        """Processes still alive and ports still listening that the run had started."""
        alive = [
            f"pid {pid} {' '.join(proc.cmdline()[:4])}"
            for pid, proc in self.processes.items()
            if _alive(proc)
        ]
        listening = {
            c.laddr.port for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN
        }
        return alive + [f"port {port} still listening" for port in self.ports & listening]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_bot_server(proc: psutil.Process) -> bool:
    """Whether ``proc`` is ``python -m bot serve`` (the workers' parent)."""
    try:
        return proc.cmdline()[1:4] == ["-m", "bot", "serve"]
    except (psutil.Error, IndexError):
        return False


def descendants(pid: int) -> list[psutil.Process]:
    """The live descendants of ``pid`` (empty when it is gone)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _sample(pid: int, run: Run) -> None:
    for proc in descendants(pid):
        run.processes.setdefault(proc.pid, proc)
        try:
            connections = proc.net_connections("inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        run.ports |= {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}


def run_load_command(
    tmp_path: Path,
    children: list[subprocess.Popen[bytes]],
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 300.0,
    during: Callable[[int, float], None] | None = None,
) -> Run:
    """Run ``python -m localenv demo ARGS`` to completion (bounded), sampling its processes.

    ``during(pid, elapsed_s)`` is called about once a second while the run is going, for tests
    that act mid-run (kill a worker, send Ctrl-C).
    """
    report_dir = tmp_path / f"report-{len(children)}"
    out_path = tmp_path / f"output-{len(children)}.txt"
    argv = [sys.executable, "-m", "localenv", "demo", "--report-dir", str(report_dir), *args]
    with out_path.open("wb") as out:
        child = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=interruptible,
        )
    children.append(child)
    result = Run(returncode=-1, output="", report_dir=report_dir)
    started = time.monotonic()
    while child.poll() is None:
        elapsed = time.monotonic() - started
        if elapsed > timeout_s:
            raise AssertionError(f"localenv demo exceeded {timeout_s} s:\n{out_path.read_text()}")
        _sample(child.pid, result)
        if during is not None:
            during(child.pid, elapsed)
        time.sleep(1.0)
    result.returncode = child.returncode
    result.output = out_path.read_text(errors="replace")
    return result


@pytest.fixture
def run_load(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """``run_load(*args, env=..., timeout_s=..., during=...)`` runs ``python -m localenv demo``.

    Whatever is still running when the test ends is killed as a process group.
    """
    children: list[subprocess.Popen[bytes]] = []

    def run(*args: str, **kwargs: Any) -> Run:
        return run_load_command(tmp_path, children, *args, **kwargs)

    yield run
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
