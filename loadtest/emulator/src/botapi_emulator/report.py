"""Progress output: a one-line summary on stderr every few seconds while calls arrive."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from botapi_emulator.state import EmulatorState


def summary(state: EmulatorState, calls_before: int, seconds: float) -> str:
    """One line: calls so far and their rate over the last ``seconds``, 429s, errors, replies."""
    counters = state.counters
    calls = sum(counters.requests.values())
    rate = (calls - calls_before) / seconds if seconds > 0 else 0.0
    replies = state.record
    return (
        f"emulator: {calls:,} calls ({rate:,.0f}/s), "
        f"{sum(counters.rate_limited.values()):,} answered 429, "
        f"{sum(counters.injected_errors.values()):,} injected errors, "
        f"{len(replies.messages):,} replies and {len(replies.callback_queries):,} callback "
        f"answers recorded"
    )


async def _report_forever(state: EmulatorState, every_s: float) -> None:
    calls_before, started = 0, time.monotonic()
    while True:
        await asyncio.sleep(every_s)
        calls = sum(state.counters.requests.values())
        now = time.monotonic()
        if calls != calls_before:  # quiet while nothing happens
            sys.stderr.write(summary(state, calls_before, now - started) + "\n")
            sys.stderr.flush()
        calls_before, started = calls, now


@contextlib.asynccontextmanager
async def reporting(state: EmulatorState, every_s: float) -> AsyncIterator[None]:
    """Run the periodic summary for as long as the server runs (no-op when ``every_s`` is 0)."""
    if every_s <= 0:
        yield
        return
    task = asyncio.create_task(_report_forever(state, every_s))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
