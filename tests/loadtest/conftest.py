"""Fixtures for the load-suite tests: a recording webhook and headless Locust runs.

These tests run in their own pytest process (``make test-loadtest``): importing Locust
monkey-patches the standard library with gevent, which must not reach the asyncio tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gevent
import pytest
from gevent.monkey import MonkeyPatchWarning

from localenv.process import stop_group
from tests.loadtest.recorder import Recorder, serve
from tests.support.ports import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

# Locust monkey-patches the standard library with gevent on import. anyio's pytest plugin
# (loaded by entry point before any conftest) has imported ssl already, so gevent warns;
# only anyio.streams.tls keeps the unpatched module and nothing here uses it.
warnings.filterwarnings("ignore", category=MonkeyPatchWarning)
import locust  # noqa: E402, F401

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
RUN_TIMEOUT_S = 60


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    rec = Recorder()
    server, url = serve(rec)
    try:
        yield rec, url
    finally:
        server.stop(timeout=1)


@dataclass
class Run:
    code: int
    output: str


def run(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run a command in its own process group, killed (with children) on timeout."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"timed out: {command}\n{output[-3000:]}")
    return Run(process.returncode, output)


def locust_command(url: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-H",
        url,
        "--check-replies",
        "off",
        "--loglevel",
        "WARNING",
        *args,
    ]


@contextlib.contextmanager
def emulator_process(*options: str) -> Iterator[str]:
    """Run ``python -m botapi_emulator`` on a free port; yield its URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "botapi_emulator", "--host", "127.0.0.1",
            "--port", str(port), *options,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to ~20 s on a busy machine
            try:
                with urllib.request.urlopen(f"{url}/__emulator/stats", timeout=1):  # noqa: S310
                    break
            except OSError:
                gevent.sleep(0.2)
        else:
            pytest.fail("the emulator did not start")
        yield url
    finally:
        stop_group(process, timeout_s=10)
