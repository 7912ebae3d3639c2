"""promtool unit tests for every alert: it fires on series that should trigger it and stays
silent on series that should not (the cases are in :mod:`dashboards.rule_tests`)."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
import yaml

from dashboards import rules
from dashboards.build import BUILD_DIR, RULES_FILE, RULES_TEST_FILE
from dashboards.rule_tests import CASES, Case, promtool_test_file

if TYPE_CHECKING:
    from pathlib import Path

PROMTOOL = shutil.which("promtool")
pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian: prometheus)"),
]


def promtool(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """Run ``promtool args...`` and capture its output; the exit code is for the caller."""
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )


def run_promtool(cases: tuple[Case, ...], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "alerts_test.yaml"
    test_file.write_text(yaml.safe_dump(promtool_test_file(cases, str(BUILD_DIR / RULES_FILE))))
    return promtool("test", "rules", str(test_file), timeout_s=120)


def test_promtool_check_rules_accepts_the_rule_file() -> None:
    result = promtool("check", "rules", str(BUILD_DIR / RULES_FILE), timeout_s=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in rules.rule_groups())} rules" in result.stdout


def test_committed_promtool_file_passes() -> None:
    """The generated test file (what a user runs by hand) passes as a whole."""
    result = promtool("test", "rules", str(BUILD_DIR / RULES_TEST_FILE), timeout_s=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    firing = {case.alert for case in CASES if case.fires}
    silent = {case.alert for case in CASES if not case.fires}
    names = {alert.name for alert in rules.alerts()}
    assert names - firing == set(), "alerts without a case that fires"
    assert names - silent == set(), "alerts without a case that stays silent"


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.alert}-{case.why}")
def test_alert_behaves_as_expected(case: Case, tmp_path: Path) -> None:
    result = run_promtool((case,), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.fires][:3], ids=lambda case: f"{case.alert}-{case.why}"
)
def test_promtool_harness_detects_a_wrong_expectation(case: Case, tmp_path: Path) -> None:
    """Claiming silence where the alert fires must fail: the harness can fail."""
    silent = Case(case.alert, case.why, case.series, case.eval_time)
    result = run_promtool((silent,), tmp_path)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
