"""Fixtures for the workflow tests: workflows, the Makefile's targets, the load-suite contract."""

from __future__ import annotations

import pytest

from tests.ci.workflow_model import (
    WORKFLOWS_DIR,
    Definition,
    LoadSuiteContract,
    all_definitions,
    load_suite_contract,
    makefile_targets,
)


@pytest.fixture(scope="session")
def definitions() -> list[Definition]:
    """Every workflow and composite action."""
    found = all_definitions()
    assert found, f"no workflows under {WORKFLOWS_DIR}"
    return found


@pytest.fixture(scope="session")
def targets() -> set[str]:
    """The root Makefile's targets."""
    return makefile_targets()


@pytest.fixture(scope="session")
def load_suite() -> LoadSuiteContract:
    """The load suite's CLI contract."""
    return load_suite_contract()
