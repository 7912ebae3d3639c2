"""Process supervision for the local environment: process groups, log files, readiness, teardown.

Every child runs in its own session (so its process group holds it and all it forks), writes
stdout and stderr to ``<log_dir>/<name>.log``, and on Linux gets a parent-death signal, so even a
``kill -9`` of the supervisor does not leave a server behind. :meth:`Supervisor.stop_all` signals
each group in reverse start order, waits for the whole group to be gone (not only its leader:
uvicorn and postgres fork workers), and escalates to ``SIGKILL`` after a bounded wait. A watchdog
thread notices a child that exits on its own and reports it once, with the tail of its log.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: How many log lines an error message quotes.
TAIL_LINES = 25
_POLL_S = 0.1
_PR_SET_PDEATHSIG = 1


class LocalEnvError(OSError):
    """The local environment could not start, or one of its processes failed.

    An ``OSError`` (a failure of the operating-system processes we run), so callers that treat
    ``OSError`` as a set-up error (exit 2) handle it without knowing this module.
    """


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one child process and how to stop it.

    Attributes:
        name: Short name; also the log file's stem (``<name>.log``).
        argv: The command line.
        env: The complete environment of the child (``None``: inherit ours).
        user: Run as this system user (PostgreSQL refuses to run as root).
        stop_signal: The signal that asks the whole group to shut down.
        stop_timeout_s: How long the group gets to exit before ``SIGKILL``.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    user: str | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout_s: float = 15.0


@dataclass
class ManagedProcess:
    """A started child: its spec, its ``Popen`` and its log file."""

    spec: ProcessSpec
    popen: subprocess.Popen[bytes]
    log_path: Path
    stopping: bool = field(default=False)

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process group id."""
        return self.popen.pid

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of the child's log (empty when there is none)."""
        return log_tail(self.log_path, lines)

    def describe_exit(self) -> str:
        """One message for an exited child: its exit status and the tail of its log."""
        code = self.popen.returncode
        status = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else code
        return (
            f"{self.spec.name} exited unexpectedly (status {status}); "
            f"last lines of {self.log_path}:\n{indent(self.tail())}"
        )


def log_tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file, reading at most its last 16 KiB."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def indent(text: str) -> str:
    """Indent every line by four spaces (log excerpts inside an error message)."""
    return "\n".join(f"    {line}" for line in text.splitlines()) or "    (empty log)"


def stop_group(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM a process started in its own session, then SIGKILL its group after ``timeout_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``, read from ``/proc``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process exited while we looked
            continue
        # The command name is in parentheses and may hold spaces; the fields after it are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def group_cpu_seconds(pgid: int) -> float:
    """User plus system CPU seconds used so far by the live processes of group ``pgid``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in group_members(pgid):
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def _parent_death_hook(sig: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when we die (else ``None``)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return hook


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``GET url`` answers 2xx within ``timeout_s`` (no exception on refusal)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (our http URL)
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Supervisor:
    """Starts, watches and stops the local environment's processes.

    Args:
        log_dir: Where each child's ``<name>.log`` goes (created if missing).
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._processes: list[ManagedProcess] = []
        self._lock = threading.Lock()
        self._crash: str | None = None
        self._stop_watch = threading.Event()
        self._watchdog: threading.Thread | None = None

    @property
    def processes(self) -> tuple[ManagedProcess, ...]:
        """The children started so far (running or not), in start order."""
        return tuple(self._processes)

    @property
    def crash(self) -> str | None:
        """The message for the first child that exited on its own, if any did."""
        return self._crash

    def start(self, spec: ProcessSpec) -> ManagedProcess:
        """Start ``spec`` in a new session with its output going to its log file."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{spec.name}.log"
        with log_path.open("ab") as log:
            log.write(f"$ {' '.join(spec.argv)}\n".encode())
            log.flush()
            popen = subprocess.Popen(  # noqa: S603 (our own argv, never a shell)
                list(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(spec.env) if spec.env is not None else None,
                user=spec.user,
                start_new_session=True,
                preexec_fn=_parent_death_hook(spec.stop_signal),
            )
        process = ManagedProcess(spec, popen, log_path)
        with self._lock:
            self._processes.append(process)
        return process

    def wait_ready(
        self, process: ManagedProcess, probe: Callable[[], bool], *, timeout_s: float, what: str
    ) -> float:
        """Poll ``probe`` until it is true; return the seconds it took.

        Raises:
            LocalEnvError: The process exited first, or ``timeout_s`` passed; the message
                quotes the end of its log.
        """
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            if probe():
                return time.monotonic() - started
            if process.popen.poll() is not None:
                raise LocalEnvError(
                    f"{process.spec.name} exited before {what} "
                    f"(status {process.popen.returncode}); last lines of {process.log_path}:\n"
                    f"{indent(process.tail())}"
                )
            if time.monotonic() > deadline:
                raise LocalEnvError(
                    f"{process.spec.name}: {what} not reached within {timeout_s:.0f} s; "
                    f"last lines of {process.log_path}:\n{indent(process.tail())}"
                )
            time.sleep(_POLL_S * 2)

    def run_once(self, spec: ProcessSpec, *, timeout_s: float) -> float:
        """Run a one-shot command (migrations, set-webhook) to completion; return its seconds.

        Raises:
            LocalEnvError: Non-zero exit or timeout, with the end of its log.
        """
        started = time.monotonic()
        process = self.start(spec)
        try:
            process.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._stop(process)
            raise LocalEnvError(
                f"{spec.name} did not finish within {timeout_s:.0f} s; last lines of "
                f"{process.log_path}:\n{indent(process.tail())}"
            ) from None
        finally:
            process.stopping = True  # a finished one-shot is never a crash
        if process.popen.returncode != 0:
            raise LocalEnvError(
                f"{spec.name} failed (exit {process.popen.returncode}); last lines of "
                f"{process.log_path}:\n{indent(process.tail())}"
            )
        return time.monotonic() - started

    def start_watchdog(self, on_crash: Callable[[str], None], interval_s: float = 0.5) -> None:
        """Watch the running children; call ``on_crash(message)`` once if one exits on its own."""

        def watch() -> None:
            while not self._stop_watch.wait(interval_s):
                for process in self.processes:
                    if process.stopping or process.popen.poll() is None:
                        continue
                    if self._stop_watch.is_set():
                        return
                    self._crash = process.describe_exit()
                    on_crash(self._crash)
                    return

        self._watchdog = threading.Thread(target=watch, name="localenv-watchdog", daemon=True)
        self._watchdog.start()

    def stop_all(self) -> None:
        """Stop every child, newest first; idempotent and safe to call from ``atexit``."""
        self._stop_watch.set()
        for process in reversed(self.processes):
            self._stop(process)

    def _stop(self, process: ManagedProcess) -> None:
        process.stopping = True
        pgid = process.pid
        if process.popen.poll() is not None and not group_members(pgid):
            return
        self._signal_group(pgid, process.spec.stop_signal)
        if not self._wait_group_gone(process, process.spec.stop_timeout_s):
            with process.log_path.open("ab") as log:
                log.write(b"localenv: stop timed out, sending SIGKILL to the process group\n")
            self._signal_group(pgid, signal.SIGKILL)
            self._wait_group_gone(process, 10.0)

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # a group we may not signal is not ours: leave it
            pass

    @staticmethod
    def _wait_group_gone(process: ManagedProcess, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            process.popen.poll()  # reap the leader so it does not count as alive
            if process.popen.returncode is not None and not group_members(process.pid):
                return True
            time.sleep(_POLL_S)
        process.popen.poll()
        return process.popen.returncode is not None and not group_members(process.pid)
