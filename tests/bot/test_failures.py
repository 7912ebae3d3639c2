"""Failure classes by SQLSTATE (the list in the issue, from PostgreSQL's errcodes appendix)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from bot.botapi import BotApiError, TransientApiError
from bot.failures import is_transient


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (errors.ReadOnlySqlTransaction(), True),  # 25006: a failover's read-only window
        (errors.SerializationFailure(), True),  # 40001
        (errors.DeadlockDetected(), True),  # 40P01
        (errors.LockNotAvailable(), True),  # 55P03: lock_timeout
        (errors.QueryCanceled(), True),  # 57014: statement_timeout
        (errors.IdleInTransactionSessionTimeout(), True),  # 25P03
        (errors.TooManyConnections(), True),  # 53300
        (errors.DiskFull(), True),  # 53100
        (errors.AdminShutdown(), True),  # 57P01
        (errors.CrashShutdown(), True),  # 57P02
        (errors.CannotConnectNow(), True),  # 57P03
        (errors.ConnectionFailure(), True),  # 08006
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (TransientApiError("sendMessage: 502"), True),
        (TimeoutError(), True),
        # A bug, or a payload that can never succeed: dead-lettered.
        (errors.UniqueViolation(), False),  # 23505
        (errors.UndefinedColumn(), False),  # 42703
        (errors.CharacterNotInRepertoire(), False),  # 22021
        (psycopg.ProgrammingError("no sqlstate"), False),
        (BotApiError("getFile", 400, "Bad Request"), False),
        (KeyError("x"), False),
    ],
)
def test_transient_by_sqlstate_not_by_class(exc, transient):
    assert is_transient(exc) is transient
