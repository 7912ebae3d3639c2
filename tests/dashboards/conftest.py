"""Fixtures for the dashboards tests."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dashboards.build import RULES_FILE, rendered

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A private directory for process logs and Prometheus data, removed afterwards.

    Not ``tmp_path``: pytest prunes old ``pytest-of-<user>/pytest-N`` folders when another
    session starts, and on a shared machine that can pull a running Prometheus's TSDB away.
    """
    with tempfile.TemporaryDirectory(prefix="tgscale-dashboards-") as path:
        yield Path(path)


@pytest.fixture
def rule_file(workdir: Path) -> Path:
    """The rule file as the current code renders it (not the committed build), for Prometheus."""
    path = workdir / RULES_FILE.name
    path.write_text(rendered()[RULES_FILE], encoding="utf-8")
    return path
