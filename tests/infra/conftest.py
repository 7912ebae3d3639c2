"""Fixtures for the infra tests: one parametrized case per stack and autoscaler mode."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from tests.infra.infra_harness import CASES, ProgramRun, cached_run, stack_config

if TYPE_CHECKING:
    from infra.config import StackConfig


@pytest.fixture(scope="session")
def _pulumi_loop() -> asyncio.AbstractEventLoop:
    """One event loop for every Pulumi mock run of the session (runs are cached across tests).

    It is left open: the mocked engine leaves transports on it that closing would report as
    unraisable ResourceWarnings; the process ends right after the session anyway.
    """
    return asyncio.new_event_loop()


@pytest.fixture(autouse=True)
def _implicit_event_loop(_pulumi_loop: asyncio.AbstractEventLoop) -> None:
    """Give Pulumi's mocks the implicit main-thread event loop they rely on.

    Pulumi's test runtime calls ``asyncio.get_event_loop()``. pytest-asyncio ends each async
    test elsewhere in the session with ``set_event_loop(None)``, after which that call raises.
    """
    asyncio.set_event_loop(_pulumi_loop)


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


@pytest.fixture
def platform_run(case: tuple[str, StackConfig]) -> tuple[StackConfig, ProgramRun]:
    """The stack that installs the case's charts: the case itself, or an app stack's platform."""
    case_id, cfg = case
    if cfg.role != "app":
        return cfg, cached_run(case_id, cfg)
    platform = stack_config(cfg.platform_stack)
    return platform, cached_run(cfg.platform_stack, platform)
