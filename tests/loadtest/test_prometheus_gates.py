"""Prometheus gates against a real Prometheus scraping a scripted kube-state-metrics fixture."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from typing import TYPE_CHECKING

import gevent
import pytest

from loadtest.profiles import GateConfig
from loadtest.prometheus_gates import Kube, Window, prometheus_gates
from localenv.process import stop_group
from tests.loadtest.kube_exporter import KubeExporter
from tests.support.ports import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="needs the prometheus binary")

# Replicas 1; the spike starts at 3 s; 2 replicas at 4 s, 3 (= HPA max) at 7 s; back to 1 at 11 s.
STEPS = [(0.0, 1, 3), (4.0, 2, 3), (7.0, 3, 3), (11.0, 1, 3)]
SPIKE = (3.0, 10.0)
TIMELINE_S = 13.5


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    """A Prometheus (1 s scrapes) that has recorded the whole scripted timeline."""
    exporter = KubeExporter(STEPS)
    exporter_port = exporter.start()
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: fixture\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter_port}']\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to ~20 s on a busy machine
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            gevent.sleep(0.2)
        else:
            pytest.fail("prometheus did not become ready")
        # Prometheus applies new targets after up to 5 s; wait for the first scrape so the
        # state before the spike is recorded.
        for _ in range(100):
            query = f"{url}/api/v1/query?query=up%7Bjob%3D%22fixture%22%7D"
            with urllib.request.urlopen(query, timeout=2) as answer:  # noqa: S310
                if b'"value"' in answer.read():
                    break
            gevent.sleep(0.2)
        else:
            pytest.fail("prometheus never scraped the fixture exporter")
        gevent.sleep(1.0)
        started = exporter.go()
        gevent.sleep(max(0.0, started + TIMELINE_S - time.time()))
        yield url, started
    finally:
        stop_group(process, timeout_s=10)
        assert exporter.server is not None
        exporter.server.stop()


def _window(started: float) -> Window:
    return Window(started - 1, started + TIMELINE_S - 0.5, (started + SPIKE[0], started + SPIKE[1]))


def _verdicts(url: str, started: float, gates: GateConfig, kube: Kube | None = None) -> dict:
    results = prometheus_gates(url, gates, _window(started), kube or Kube(namespace="bots"))
    return {r.name: r for r in results}


def test_gates_pass_when_the_fleet_scales_in_time(scraped) -> None:
    url, started = scraped
    gates = GateConfig(
        bot_p99_ms=450,
        bot_error_ratio=0.05,
        min_replicas=3,
        scale_up_within_s=7,
        scale_down_within_s=4,
        max_pinned_s=8,
    )
    verdicts = _verdicts(url, started, gates)
    assert {name: r.verdict for name, r in verdicts.items()} == dict.fromkeys(verdicts, "pass"), [
        r.line() for r in verdicts.values()
    ]
    assert len(verdicts) == 5
    assert 2 <= verdicts["scale up"].measured <= 6  # 3 replicas came 4 s after the spike start
    assert 2 <= verdicts["hpa not pinned at max"].measured <= 6  # 4 s at maxReplicas
    assert 50 < verdicts["bot p99 (prometheus)"].measured < 500
    assert 0.005 < verdicts["bot error ratio (prometheus)"].measured < 0.02


def test_gates_fail_with_stricter_thresholds(scraped) -> None:
    url, started = scraped
    gates = GateConfig(
        bot_p99_ms=40,
        bot_error_ratio=0.001,
        min_replicas=3,
        scale_up_within_s=1.5,
        max_pinned_s=1.5,
    )
    verdicts = _verdicts(url, started, gates)
    assert {name: r.verdict for name, r in verdicts.items()} == dict.fromkeys(verdicts, "fail")
    never = _verdicts(url, started, GateConfig(min_replicas=5, scale_up_within_s=60))
    assert never["scale up"].verdict == "fail"
    assert "never reached 5 replicas (peak 3)" in never["scale up"].reason


def test_absent_series_are_not_applicable_with_the_reason(scraped) -> None:
    url, started = scraped
    gates = GateConfig(
        min_replicas=2, scale_up_within_s=60, scale_down_within_s=60, max_pinned_s=60
    )
    verdicts = _verdicts(url, started, gates, Kube(deployment="other", hpa="other"))
    for result in verdicts.values():
        assert result.verdict == "n/a"
        assert "absent" in result.reason
    no_url = prometheus_gates("", gates, _window(started), Kube())
    assert {r.verdict for r in no_url} == {"n/a"}
    no_spike = prometheus_gates(url, gates, Window(started, started + 5), Kube(namespace="bots"))
    assert [r.reason for r in no_spike][:2] == ["the profile has no spike"] * 2


def test_unreachable_prometheus_fails_the_gates() -> None:
    gates = GateConfig(bot_p99_ms=100)
    [result] = prometheus_gates(f"http://127.0.0.1:{free_port()}", gates, Window(0, 1), Kube())
    assert result.verdict == "fail"
    assert "unreachable" in result.reason
