"""Shared fixtures and the marker-by-directory rule for the whole test suite.

PostgreSQL is always real: ``DATABASE_URL`` when set, otherwise one embedded server (the
``pgserver`` wheel) per test session. Tests that need isolation take ``database_url``, which
creates a fresh database for that test.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

# Tests under these folders get the marker automatically (see pytest_collection_modifyitems):
# localenv's tests start real processes (PostgreSQL, Prometheus, stand-ins).
_MARKER_BY_DIRECTORY = {"integration": "integration", "e2e": "load", "localenv": "integration"}

SHARED_DIR = Path(os.environ.get("TGSCALE_SHARED_DIR", Path(__file__).parents[2] / "shared"))


#: Test folders whose modules import Locust, which monkey-patches the standard library with
#: gevent on import; the rest of the suite (asyncio) must never run patched.
_GEVENT_DIRECTORIES = (Path(__file__).parent / "loadtest",)
_UNPATCHED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """In a session that is not only the gevent folders, import Locust without patching.

    Then ``pytest tests`` (or ``--collect-only tests``) collects everything in one process, and
    the gevent folders' tests are skipped with the command that runs them in their own.
    """
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args] or [Path.cwd()]
    gevent_only = all(
        any(path.is_relative_to(directory) for directory in _GEVENT_DIRECTORIES) for path in paths
    )
    patched = "locust" in sys.modules  # a gevent folder's conftest was loaded first
    config.stash[_UNPATCHED] = not gevent_only and not patched
    if config.stash[_UNPATCHED]:
        os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collection imported what it needed: child processes (Locust runs) must patch again."""
    if session.config.stash[_UNPATCHED]:
        os.environ.pop("LOCUST_SKIP_MONKEY_PATCH", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    own_process = pytest.mark.skip(reason="gevent: run in its own process (make test-loadtest)")
    for item in items:
        parts = Path(item.path).parts
        for directory, marker in _MARKER_BY_DIRECTORY.items():
            if directory in parts:
                item.add_marker(getattr(pytest.mark, marker))
        if "postgres_server_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)  # a real PostgreSQL, wherever the test is
        in_gevent_folder = any(Path(item.path).is_relative_to(d) for d in _GEVENT_DIRECTORIES)
        if config.stash[_UNPATCHED] and in_gevent_folder:
            item.add_marker(own_process)


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database for this test session."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    import pgserver  # the embedded server is only needed when no DATABASE_URL is given

    # Not under pytest's basetemp: every new pytest session (other engineers', CI's) resets
    # /tmp/pytest-of-<user> to 0700, which locks out the `pgserver` system user that runs
    # postgres when we are root, and postgres then PANICs mid-run.
    pgdata = Path(tempfile.mkdtemp(prefix="tgscale-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(postgres_server_url)
    info["dbname"] = name
    yield psycopg.conninfo.make_conninfo(**info)
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
