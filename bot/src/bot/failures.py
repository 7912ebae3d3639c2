"""Which failures are worth a redelivery: PostgreSQL errors by SQLSTATE, the rest by type.

A transient failure rolls the update back and answers 503 + ``Retry-After``, so Telegram
delivers it again later and nothing is lost. Anything else raised while handling an update is
a bug in a handler (or a payload that can never succeed) and is dead-lettered.
SQLSTATE codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
"""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolClosed, PoolTimeout
from telegram.error import NetworkError, RetryAfter

from bot.botapi import TransientApiError

#: SQLSTATE classes that are always transient: connection exception, insufficient resources.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53"})
#: Single SQLSTATE codes that are transient.
TRANSIENT_SQLSTATES = frozenset(
    {
        "25006",  # read_only_sql_transaction: a failover's read-only window
        "25P03",  # idle_in_transaction_session_timeout
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, in recovery)
    }
)
#: Failures outside PostgreSQL that are transient by type: the pool, the Bot API, timeouts.
TRANSIENT_TYPES = (
    PoolTimeout,
    PoolClosed,
    TransientApiError,
    NetworkError,  # PTB's transport (getFile, downloads), TimedOut included
    RetryAfter,  # a 429 on a call made through PTB
    TimeoutError,
)


def transient_sqlstate(sqlstate: str | None) -> bool:
    """Whether a PostgreSQL error code means "try again later"."""
    if sqlstate is None:
        return False
    return sqlstate in TRANSIENT_SQLSTATES or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` deserves a redelivery (503) rather than a dead letter."""
    if isinstance(exc, TRANSIENT_TYPES):
        return True
    if isinstance(exc, psycopg.Error):
        if exc.sqlstate is None:
            # No answer from the server at all: the connection broke (client-side errors).
            return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
        return transient_sqlstate(exc.sqlstate)
    return False
