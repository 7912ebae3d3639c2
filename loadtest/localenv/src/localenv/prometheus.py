"""The local environment's Prometheus: a generated scrape config and the command that runs it.

Prometheus scrapes the bot, the emulator and the Locust process every
:data:`SCRAPE_INTERVAL_S` seconds (short, so a 30 s demo still has enough samples for ``rate``),
evaluates the given rule files at the same interval, keeps its TSDB in the environment's
temporary directory, and listens on loopback only.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from typing import TYPE_CHECKING

from localenv.process import ProcessSpec

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from pathlib import Path

SCRAPE_INTERVAL_S = 2
INSTALL_HINT = "install it with `sudo apt-get install prometheus` (Debian/Ubuntu)"


def find_prometheus() -> str | None:
    """The ``prometheus`` binary on PATH, or ``None``."""
    return shutil.which("prometheus")


def scrape_config(targets: Mapping[str, str], rule_files: Sequence[Path] = ()) -> str:
    """A Prometheus config scraping each ``job -> host:port`` at ``/metrics``.

    ``rule_files`` (recording and alerting rules, e.g. the dashboards package's generated
    ``tgscale.rules.yaml``) are loaded by absolute path. JSON is valid YAML, so the config is
    written without a YAML library.
    """
    interval = f"{SCRAPE_INTERVAL_S}s"
    config = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,  # must not exceed the interval
            "evaluation_interval": interval,
            "external_labels": {"environment": "local"},
        },
        "rule_files": [str(path.resolve()) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target]}],
            }
            for job, target in targets.items()
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def targets_discovered(url: str, jobs: Collection[str]) -> bool:
    """Whether Prometheus at ``url`` lists an active target for each of ``jobs`` yet.

    Readiness comes before service discovery has run; the runner should not start before the
    first scrapes can happen.
    """
    try:
        with urllib.request.urlopen(f"{url}/api/v1/targets", timeout=2) as response:  # noqa: S310
            active = json.load(response)["data"]["activeTargets"]
    except (OSError, ValueError, KeyError):
        return False
    return set(jobs) <= {target["labels"]["job"] for target in active}


def check_rule_files(rule_files: Sequence[Path]) -> None:
    """Fail early, naming the file, when a rule file does not exist.

    Prometheus ignores a ``rule_files`` glob that matches nothing, which would silently run
    without the rules.

    Raises:
        FileNotFoundError: a rule file is missing.
    """
    for path in rule_files:
        if not path.is_file():
            raise FileNotFoundError(f"Prometheus rule file not found: {path}")


def prometheus_spec(
    binary: str,
    root: Path,
    port: int,
    targets: Mapping[str, str],
    rule_files: Sequence[Path] = (),
) -> ProcessSpec:
    """Write the config under ``root`` and describe the Prometheus process listening on ``port``."""
    config = root / "prometheus.yml"
    config.write_text(scrape_config(targets, rule_files))
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={root / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
        "--log.level=warn",
    ]
    return ProcessSpec("prometheus", argv, stop_timeout_s=10)
