"""Run a real Prometheus binary on a free loopback port, with our rule file loaded.

Used by the real-data proof and by ``make dashboards-preview``: it scrapes the given targets
every second and evaluates the rules every second, so a short run has data in every window.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import httpx
import yaml

from dashboards.build import RULES_FILE, rendered

INSTALL_HINT: Final = "install Prometheus (Debian/Ubuntu: apt-get install prometheus)"
SCRAPE_INTERVAL: Final = "1s"


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prometheus_binary() -> str:
    """The path of the ``prometheus`` binary.

    Raises:
        FileNotFoundError: Prometheus is not installed.
    """
    found = shutil.which("prometheus")
    if found is None:
        raise FileNotFoundError(f"prometheus not found on PATH; {INSTALL_HINT}")
    return found


def config(targets: Mapping[str, str], rule_file: Path) -> dict[str, object]:
    """A Prometheus config scraping ``targets`` (job name → ``host:port``)."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rule_file)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [address]}]}
            for job, address in sorted(targets.items())
        ],
    }


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM ``process``'s group, then SIGKILL it if it has not exited within ``timeout``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll ``url`` until it answers 200 (bounded); fail early if ``process`` exits.

    Raises:
        RuntimeError: the process exited or ``timeout`` passed; the message quotes its log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited ({process.returncode}):\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s:\n{_tail(log)}")


def wait_until_scraped(
    url: str, targets: int, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    """Poll until Prometheus has scraped each of ``targets`` at least once (bounded).

    Raises:
        RuntimeError: Prometheus exited, or not every target was scraped within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited ({process.returncode}):\n{_tail(log)}")
        response = httpx.get(f"{url}/api/v1/query", params={"query": "count(up)"}, timeout=2.0)
        result = response.json()["data"]["result"]
        seen = int(float(result[0]["value"][1])) if result else 0
        if seen >= targets:
            return
        time.sleep(0.25)
    raise RuntimeError(f"Prometheus scraped {seen} of {targets} targets in {timeout:.0f}s")


def _tail(log: Path, lines: int = 30) -> str:
    if not log.is_file():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def prometheus(targets: Mapping[str, str], workdir: Path) -> Iterator[str]:
    """Start Prometheus scraping ``targets`` with the current rules; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    rule_file = workdir / RULES_FILE.name
    rule_file.write_text(rendered()[RULES_FILE], encoding="utf-8")
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config(targets, rule_file)), encoding="utf-8")
    port = free_port()
    log = workdir / "prometheus.log"
    command = [
        prometheus_binary(),
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/-/ready", process, log, timeout=60)
        # Target discovery reaches the scrape loop only after a few seconds; a run that starts
        # before the first scrape would lose its start.
        wait_until_scraped(url, len(targets), process, log, timeout=60)
        yield url
    finally:
        stop_group(process)
