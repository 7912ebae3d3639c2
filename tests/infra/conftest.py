"""Fixtures for the infra tests: one parametrized case per stack and autoscaler mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from infra_harness import CASES, ProgramRun, cached_run, stack_config

if TYPE_CHECKING:
    from infra.config import StackConfig


@pytest.fixture(params=CASES, ids=[case[0] for case in CASES])
def case(request: pytest.FixtureRequest) -> tuple[str, StackConfig]:
    """(case id, parsed config) for every stack and each autoscaler mode."""
    case_id, stack, overrides = request.param
    return case_id, stack_config(stack, overrides)


@pytest.fixture
def program_run(case: tuple[str, StackConfig]) -> tuple[StackConfig, ProgramRun]:
    """The case's config and its mocked program run (cached per session)."""
    case_id, cfg = case
    return cfg, cached_run(case_id, cfg)
