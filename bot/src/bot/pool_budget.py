"""Pools cannot overrun PostgreSQL: workers x pool size against what the server allows.

``serve`` asks the server once at start-up (``max_connections`` minus the superuser reserve)
and compares it with ``--workers`` x ``BOT_DB_POOL_MAX`` plus ``BOT_DB_CONNECTION_RESERVE``
left for migrations, operators and other replicas. ``BOT_DB_POOL_CHECK`` says what to do when
it does not fit: ``warn`` (default), ``refuse`` (exit 2) or ``off``. An unreachable database
is not a reason to refuse: the bot starts and its readiness says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolBudget:
    """The arithmetic: what the processes may open against what the server allows."""

    workers: int
    pool_max: int
    max_connections: int
    superuser_reserved: int
    reserve: int

    @property
    def needed(self) -> int:
        """Connections this server's processes may open."""
        return self.workers * self.pool_max

    @property
    def allowed(self) -> int:
        """Connections left for the bot after the server's and our reserves."""
        return self.max_connections - self.superuser_reserved - self.reserve

    @property
    def fits(self) -> bool:
        """Whether every pool can fill up at once without "too many clients"."""
        return self.needed <= self.allowed

    def explain(self) -> str:
        """The comparison, spelled out with the setting names."""
        return (
            f"{self.workers} workers x BOT_DB_POOL_MAX {self.pool_max} = {self.needed} connections"
            f" {'<=' if self.fits else '>'} max_connections {self.max_connections}"
            f" - superuser_reserved_connections {self.superuser_reserved}"
            f" - BOT_DB_CONNECTION_RESERVE {self.reserve} = {self.allowed}"
        )


def read_budget(settings: Settings, workers: int) -> PoolBudget | None:
    """Ask the server for its limits; None when it cannot be reached (checked later)."""
    try:
        with psycopg.connect(
            settings.database_url.get_secret_value(), connect_timeout=3, autocommit=True
        ) as conn:
            row = conn.execute(
                "SELECT current_setting('max_connections')::int,"
                " current_setting('superuser_reserved_connections')::int"
            ).fetchone()
    except psycopg.Error as exc:
        log.warning("pool check skipped: database unreachable (%s)", type(exc).__name__)
        return None
    assert row is not None  # noqa: S101 (a SELECT without FROM returns one row)
    return PoolBudget(
        workers, settings.pool_max, int(row[0]), int(row[1]), settings.db_connection_reserve
    )


def check_pool_budget(settings: Settings, workers: int) -> bool:
    """Log the arithmetic when it does not fit; False when ``refuse`` says not to start."""
    if settings.db_pool_check == "off":
        return True
    budget = read_budget(settings, workers)
    if budget is None or budget.fits:
        return True
    if settings.db_pool_check == "refuse":
        log.error("refusing to start: %s", budget.explain())
        return False
    log.warning("the pools may overrun PostgreSQL: %s", budget.explain())
    return True
