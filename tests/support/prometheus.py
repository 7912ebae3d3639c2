"""A real Prometheus alone, scraping exporters a test serves itself (test-only, not localenv's API).

It uses the local environment's own Prometheus config and readiness checks
(:mod:`localenv.prometheus`) under the same supervisor, so a query or rule tested here runs the
way it does in ``make demo``.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from localenv.process import LocalEnvError, Supervisor, http_ok
from localenv.prometheus import (
    INSTALL_HINT,
    check_rule_files,
    find_prometheus,
    prometheus_spec,
    targets_discovered,
)
from tests.support.ports import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence


@contextlib.contextmanager
def local_prometheus(
    targets: Mapping[str, str],
    *,
    rule_files: Sequence[Path] = (),
    report_dir: Path | None = None,
    startup_timeout_s: float = 120.0,
) -> Iterator[str]:
    """Run only Prometheus, scraping ``targets`` (``job -> host:port``); yield its root URL.

    Raises:
        LocalEnvError: Prometheus is not installed, did not get ready, or found no targets.
        FileNotFoundError: A rule file does not exist.
    """
    check_rule_files(rule_files)
    binary = find_prometheus()
    if binary is None:
        raise LocalEnvError(f"prometheus is not on PATH; {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="tgscale-test-prometheus-"))
    supervisor = Supervisor((report_dir or root) / "logs")
    try:
        port = free_port()
        process = supervisor.start(prometheus_spec(binary, root, port, targets, rule_files))
        url = f"http://127.0.0.1:{port}"
        for probe, what in (
            (functools.partial(http_ok, f"{url}/-/ready"), "GET /-/ready 2xx"),
            (functools.partial(targets_discovered, url, targets), "its scrape targets discovered"),
        ):
            supervisor.wait_ready(process, probe, timeout_s=startup_timeout_s, what=what)
        yield url
    finally:
        supervisor.stop_all()
        shutil.rmtree(root, ignore_errors=True)
