"""Fault injection: added latency (fixed plus jitter) and a share of calls answered with errors."""

from __future__ import annotations

import asyncio
import random

from botapi_emulator.config import ERROR_DESCRIPTIONS, FaultConfig
from botapi_emulator.errors import ApiError


class FaultInjector:
    """Applies a :class:`FaultConfig` to calls; replace ``config`` through :meth:`configure`.

    Args:
        config: The faults to inject.
    """

    def __init__(self, config: FaultConfig) -> None:
        self.configure(config)
        self.injected_latency_s = 0.0

    def configure(self, config: FaultConfig) -> None:
        """Switch to ``config`` (and reseed the random source)."""
        self.config = config
        # Not for security: a reproducible stream of fault decisions.
        self._random = random.Random(config.seed)  # noqa: S311
        self._active = config.default.active or any(f.active for f in config.methods.values())

    async def delay(self, method_key: str) -> None:
        """Sleep for the latency configured for ``method_key``, if any."""
        if not self._active:
            return
        faults = self.config.for_method(method_key)
        seconds = faults.latency_ms / 1000.0
        if faults.jitter_ms:
            seconds += self._random.uniform(0.0, faults.jitter_ms) / 1000.0
        if seconds > 0.0:
            self.injected_latency_s += seconds
            await asyncio.sleep(seconds)

    def error(self, method_key: str) -> ApiError | None:
        """An error to answer instead of executing the call, or None to go on."""
        if not self._active:
            return None
        ratio = self.config.for_method(method_key).error_ratio
        if ratio and self._random.random() < ratio:
            code = self.config.error_code
            return ApiError(code, ERROR_DESCRIPTIONS[code])
        return None
