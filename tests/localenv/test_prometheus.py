"""The local environment's Prometheus with rule files: given rules are evaluated, a broken or
missing rule file fails before or at start-up with a message naming it, and the tests'
``local_prometheus`` (only Prometheus, for exporters a test serves itself) leaves nothing running.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING

import pytest

from localenv.environment import local_environment
from localenv.process import LocalEnvError
from tests.support.prometheus import local_prometheus

if TYPE_CHECKING:
    from pathlib import Path

needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="prometheus not installed"
)
RECORDED = "tgscale_test:up:sum"
RULES = f"""groups:
  - name: test
    rules:
      - record: {RECORDED}
        expr: sum(up) + 7
"""


def _instant(url: str, promql: str) -> list[dict[str, object]]:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as response:  # noqa: S310
        result: list[dict[str, object]] = json.load(response)["data"]["result"]
        return result


def _poll(url: str, promql: str, timeout_s: float = 30.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = _instant(url, promql)
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"{promql} had no result within {timeout_s} s")


def _refused(url: str) -> bool:
    port = int(urllib.parse.urlsplit(url).port or 0)
    with socket.socket() as sock:
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


@needs_prometheus
def test_local_prometheus_evaluates_the_given_rules_and_stops(tmp_path: Path) -> None:
    rules = tmp_path / "test.rules.yaml"
    rules.write_text(RULES)
    # A target nothing listens on: up is 0, so the recorded value is exactly 7.
    with local_prometheus({"nothing": "127.0.0.1:1"}, rule_files=[rules]) as url:
        (sample,) = _poll(url, RECORDED)
        assert float(sample["value"][1]) == 7.0  # type: ignore[index]
    assert _refused(url)


@needs_prometheus
def test_a_broken_rule_file_fails_start_up_with_the_prometheus_log(tmp_path: Path) -> None:
    rules = tmp_path / "broken.rules.yaml"
    rules.write_text(RULES.replace("sum(up) + 7", "sum(up"))
    with (
        pytest.raises(LocalEnvError, match=r"(?s)prometheus exited.*broken\.rules\.yaml"),
        local_prometheus({"nothing": "127.0.0.1:1"}, rule_files=[rules], report_dir=tmp_path),
    ):
        pytest.fail("Prometheus must not come up with a broken rule file")


def test_rule_files_are_checked_before_anything_starts(tmp_path: Path) -> None:
    missing = tmp_path / "missing.rules.yaml"
    with (
        pytest.raises(FileNotFoundError, match=r"missing\.rules\.yaml"),
        local_environment(rule_files=[missing], report_dir=tmp_path),
    ):
        pytest.fail("the environment must not come up")
    rules = tmp_path / "test.rules.yaml"
    rules.write_text(RULES)
    with (
        pytest.raises(ValueError, match="rule files need Prometheus"),
        local_environment(rule_files=[rules], prometheus=False, report_dir=tmp_path),
    ):
        pytest.fail("the environment must not come up")
    assert not (tmp_path / "logs").exists()
