"""Fixtures for the end-to-end load tests (``load`` marker, added by directory)."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

import pytest
from _harness import Run, run_load_command

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def run_load(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """``run_load(*args, env=..., timeout_s=..., during=...)`` runs ``python -m loadtest run``.

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
