"""The embedded PostgreSQL of the local environment: the ``pgserver`` wheel's binaries, supervised.

``pgserver.get_server`` daemonises PostgreSQL through ``pg_ctl``, so the server would outlive a
crashed or killed run. Here ``initdb`` prepares a throw-away cluster and the ``postgres`` binary
runs in the foreground under the :class:`~localenv.process.Supervisor`, listening on a Unix
socket only (no TCP port to collide with). As root, both run as the ``pgserver`` system user,
which PostgreSQL requires and ``pgserver`` itself creates.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from localenv.process import LocalEnvError, ManagedProcess, ProcessSpec, Supervisor, indent

if TYPE_CHECKING:
    from collections.abc import Callable

_SYSTEM_USER = "pgserver"
_PORT = 5432  # only names the socket file (.s.PGSQL.5432); there is no TCP listener
_DATABASE = "postgres"


def _import_pgserver() -> None:
    """Import ``pgserver`` (late: only the embedded server needs it), quietly.

    Its import resolves a runtime directory through platformdirs, which warns when
    ``XDG_RUNTIME_DIR`` is unset (containers, CI); pgserver's fallback is fine for us.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
        import pgserver  # noqa: F401


def _bin_dir() -> Path:
    _import_pgserver()
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _system_user(paths: list[Path]) -> str | None:
    """The user to run PostgreSQL as: ``None`` unless we are root, then ``pgserver``."""
    if os.geteuid() != 0:
        return None
    _import_pgserver()
    from pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(_SYSTEM_USER)
    assert entry is not None  # noqa: S101 (ensure_user_exists creates it or raises)
    # What pgserver does before it runs PostgreSQL as that user: let it read the binaries.
    bin_dir = _bin_dir()
    ensure_prefix_permissions(bin_dir)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_dir, read | execute)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    for path in paths:
        ensure_prefix_permissions(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return _SYSTEM_USER


def start_postgres(
    supervisor: Supervisor, root: Path, *, timeout_s: float
) -> tuple[ManagedProcess, str, Callable[[], bool]]:
    """Initialise a cluster under ``root`` and start its server (not yet ready).

    Args:
        supervisor: Starts and later stops the server process.
        root: A fresh, short directory (the socket path must fit in 107 bytes).
        timeout_s: Bound on ``initdb``.

    Returns:
        The server process, its connection URL and a readiness probe.

    Raises:
        LocalEnvError: ``initdb`` failed or timed out.
    """
    bin_dir = _bin_dir()
    data, sockets = root / "pgdata", root / "pgsock"
    data.mkdir(mode=0o700)
    sockets.mkdir(mode=0o700)
    user = _system_user([data, sockets])
    log_path = supervisor.log_dir / "postgres-initdb.log"
    supervisor.log_dir.mkdir(parents=True, exist_ok=True)
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"]
    initdb += ["--encoding=UTF8", "--no-sync", "--no-instructions"]
    with log_path.open("wb") as log:
        try:
            result = subprocess.run(  # noqa: S603 (fixed argv)
                initdb, stdout=log, stderr=subprocess.STDOUT, user=user, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            raise LocalEnvError(f"initdb did not finish within {timeout_s:.0f} s") from None
    if result.returncode != 0:
        tail = indent(log_path.read_text(errors="replace")[-4000:])
        raise LocalEnvError(f"initdb failed (exit {result.returncode}):\n{tail}")
    argv = [str(bin_dir / "postgres"), "-D", str(data), "-k", str(sockets), "-p", str(_PORT)]
    # No TCP listener; enough connections for N workers' pools plus the tests' readers.
    argv += ["-c", "listen_addresses=", "-c", "max_connections=200"]
    # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions and exit now.
    spec = ProcessSpec("postgres", argv, user=user, stop_signal=signal.SIGINT, stop_timeout_s=20)
    process = supervisor.start(spec)
    url = f"postgresql://postgres:@/{_DATABASE}?host={sockets}"
    isready = [str(bin_dir / "pg_isready"), "-q", "-h", str(sockets), "-p", str(_PORT)]

    def ready() -> bool:
        try:
            return subprocess.run(isready, check=False, timeout=10).returncode == 0  # noqa: S603
        except subprocess.TimeoutExpired:
            return False

    return process, url, ready
