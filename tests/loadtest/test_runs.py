"""Short real Locust runs against the recording webhook (each a few seconds)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections import defaultdict
from typing import TYPE_CHECKING

import gevent

from bot_contract import metrics
from tests.loadtest.conftest import ROOT, Run, locust_command, run
from tests.loadtest.recorder import CALLBACK_QUEUE_OFFSET, Recorder
from tests.support.ports import free_port

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "s3cret_token-1"  # noqa: S105 (a test value)


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _order_per_key(rec: Recorder) -> dict[int, list[int]]:
    per_key: dict[int, list[int]] = defaultdict(list)
    for delivery in rec.deliveries:
        per_key[delivery.key].append(delivery.update_id)
    return per_key


def _steady_run(url: str, folder: Path, shape_duration: str, *options: str) -> Run:
    """A headless run of the steady profile at half its rate, reporting into ``folder``."""
    return run(
        locust_command(
            url,
            "--load-profile",
            "steady",
            "--shape-duration",
            shape_duration,
            "--rate-scale",
            "0.5",
            *options,
            "--report-dir",
            str(folder),
        )
    )


def test_telegram_model_keeps_chat_order_and_never_exceeds_max_connections(
    recorder, tmp_path
) -> None:
    rec, url = recorder
    rec.delay_s = 0.03  # 4 connections x 30 ms: ~130/s, below the 200/s offered
    # A small, steep population: busy chats get many updates, so order is really tested.
    profile = tmp_path / "hot.toml"
    profile.write_text(
        (ROOT / "loadtest" / "profiles" / "steady.toml")
        .read_text()
        .replace("users = 50000", "users = 30")
        .replace("groups = 2000", "groups = 3")
        .replace("zipf_s = 0.6", "zipf_s = 1.2")
    )
    result = run(
        locust_command(
            url,
            "--load-profile",
            str(profile),
            "--shape-duration",
            "4",
            "--rate-scale",
            "5",
            "--max-connections",
            "4",
            "--drain-s",
            "0",
            "--check-achieved-ratio",
            "-1",
            "--check-lag-p99-ms",
            "-1",
            "--report-dir",
            str(tmp_path),
        ),
        env={"LOCUST_WEBHOOK_SECRET": SECRET},
    )
    assert result.code == 0, result.output[-3000:]
    assert rec.max_in_flight == 4  # saturated, and never more than max_connections
    per_key = _order_per_key(rec)
    assert sum(len(ids) > 5 for ids in per_key.values()) > 5  # chats with many updates
    for ids in per_key.values():
        assert ids == sorted(ids)  # FIFO per chat (per user for callback queries)
    assert any(key > CALLBACK_QUEUE_OFFSET for key in per_key)
    assert {d.secret for d in rec.deliveries} == {SECRET}
    totals = _summary(tmp_path)["totals"]
    # Requests still open when the run stops reached the server but are not counted by Locust.
    assert len(rec.deliveries) - 4 <= totals["requests"] <= len(rec.deliveries)
    assert totals["pending_at_end"] > 0  # the backlog the 4 connections could not drain


def test_retries_honour_retry_after_and_block_only_their_chat(recorder, tmp_path) -> None:
    rec, url = recorder
    rec.fail_first_n, rec.retry_after_s = 4, "2"
    result = _steady_run(
        url,
        tmp_path,
        "2",
        "--drain-s",
        "8",
        "--check-lag-p99-ms",
        "-1",
        "--check-error-ratio",
        "-1",
    )
    assert result.code == 0, result.output[-3000:]
    attempts: dict[int, list[float]] = defaultdict(list)
    for delivery in rec.deliveries:
        attempts[delivery.update_id].append(delivery.arrived)
    retried = {uid: times for uid, times in attempts.items() if len(times) > 1}
    assert set(retried) == rec.failed_once
    for times in retried.values():
        assert len(times) == 2
        assert times[1] - times[0] >= 2.0  # Retry-After: 2 was honoured
    # Head-of-line: nothing later from a blocked chat arrived between the two attempts.
    key_of = {d.update_id: d.key for d in rec.deliveries}
    for uid, (first, second) in retried.items():
        assert not [
            d
            for d in rec.deliveries
            if d.key == key_of[uid] and d.update_id > uid and first < d.arrived < second
        ]
    totals = _summary(tmp_path)["totals"]
    assert totals["redeliveries"] == len(retried)
    assert totals["acked"] == totals["offered"] == len(attempts)


def test_duplicate_injection_resends_acked_updates(recorder, tmp_path) -> None:
    rec, url = recorder
    result = _steady_run(
        url, tmp_path, "1.5", "--duplicate-ratio", "1", "--drain-s", "6", "--check-lag-p99-ms", "-1"
    )
    assert result.code == 0, result.output[-3000:]
    counts: dict[int, int] = defaultdict(int)
    for delivery in rec.deliveries:
        counts[delivery.update_id] += 1
    assert counts
    assert set(counts.values()) == {2}
    assert _summary(tmp_path)["totals"]["duplicates_injected"] == len(counts)


def test_peak_shape_produces_its_rate_schedule(recorder, tmp_path) -> None:
    rec, url = recorder
    # peak: 20/s, x5 from 1/3 to 2/3 of the run, back to 20/s.
    result = run(
        locust_command(
            url, "--load-profile", "peak", "--shape-duration", "9", "--report-dir", str(tmp_path)
        )
    )
    assert result.code == 0, result.output[-3000:]
    summary = _summary(tmp_path)
    rows = summary["timeline"]
    # Each row's rate covers the second before it, and the shape ticks about once a second:
    # rows within ~1.5 s after a change still mix both rates, so they are left out.
    spike = [r["offered_rate"] for r in rows if 4.5 <= r["t"] <= 6.0]
    baseline = [r["offered_rate"] for r in rows if 1.5 <= r["t"] <= 3.0 or 7.5 <= r["t"] <= 9.0]
    assert spike
    assert baseline
    assert all(80 <= rate <= 120 for rate in spike), spike
    assert all(12 <= rate <= 28 for rate in baseline), baseline
    expected = 20 * 9 + 80 * 3
    assert 0.9 * expected <= summary["totals"]["offered"] <= 1.05 * expected
    assert len({d.update_id for d in rec.deliveries}) == summary["totals"]["acked"]
    for name in ("summary.json", "junit.xml", "chart.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_step_shape_in_the_open_model(recorder, tmp_path) -> None:
    _rec, url = recorder
    profile = tmp_path / "ramp.toml"
    profile.write_text(
        '[shape]\nkind = "step"\nstages = [[2.5, 20.0], [2.5, 60.0], [2.5, 100.0]]\n'
        '[delivery]\nmodel = "open"\n[gates]\nerror_ratio = 0.0\n'
    )
    result = run(locust_command(url, "--load-profile", str(profile), "--report-dir", str(tmp_path)))
    assert result.code == 0, result.output[-3000:]
    rows = _summary(tmp_path)["timeline"]
    for low, high, rate in ((1.2, 2.4, 20), (3.7, 4.9, 60), (6.2, 7.4, 100)):
        window = [r["offered_rate"] for r in rows if low <= r["t"] <= high]
        assert window
        assert all(0.7 * rate <= x <= 1.3 * rate for x in window), (rate, window)


def test_runner_gates_a_slow_target_and_names_the_gate(recorder, tmp_path) -> None:
    rec, url = recorder
    rec.delay_s = 0.15
    result = run(
        [
            sys.executable,
            "-m",
            "loadtest",
            "run",
            "--target",
            f"{url}/telegram/webhook",
            "--profile",
            "steady",
            "--duration",
            "3",
            "--report-dir",
            str(tmp_path),
            "--",
            "--check-replies",
            "off",
            "--check-p95-ms",
            "100",
            "--rate-scale",
            "0.5",
        ]
    )
    assert result.code == 3, result.output[-3000:]
    assert "CHECK FAILED: p95 response time" in result.output
    assert "error ratio" in result.output  # the verdict table lists every gate
    gates = {g["name"]: g["verdict"] for g in _summary(tmp_path)["gates"]}
    assert gates["p95 response time text"] == "fail"
    assert gates["error ratio"] == "pass"
    for name in (
        "locust.html",
        "locust_stats.csv",
        "locust_stats_history.csv",
        "junit.xml",
        "chart.png",
    ):
        assert (tmp_path / name).is_file(), name
    assert f"report: {tmp_path}" in result.output


def test_failing_target_breaches_the_error_gate(recorder, tmp_path) -> None:
    rec, url = recorder
    rec.status = 500
    result = _steady_run(url, tmp_path, "2", "--drain-s", "0")
    assert result.code == 3, result.output[-3000:]
    assert "CHECK FAILED: error ratio 1" in result.output
    assert "CHECK FAILED: achieved/offered 0" in result.output


def test_runner_reports_usage_errors() -> None:
    result = run([sys.executable, "-m", "loadtest", "run", "--profile", "nope", "--target", "x"])
    assert result.code == 2
    assert "no profile 'nope'" in result.output


def test_distributed_run_with_master_and_two_workers(recorder, tmp_path) -> None:
    rec, url = recorder
    port = str(free_port())
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "loadtest" / "locustfile.py"),
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                port,
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(2)
    ]
    try:
        result = run(
            locust_command(
                url,
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                port,
                "--expect-workers",
                "2",
                "--load-profile",
                "steady",
                "--shape-duration",
                "4",
                "--report-dir",
                str(tmp_path),
            )
        )
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    assert result.code == 0, result.output[-3000:]
    ids = [d.update_id for d in rec.deliveries]
    assert len(ids) == len(set(ids))  # unique across both workers
    start = min(ids)
    assert {(uid - start) % 2 for uid in ids} == {0, 1}  # both slots delivered
    for chat_ids in _order_per_key(rec).values():
        assert chat_ids == sorted(chat_ids)
    totals = _summary(tmp_path)["totals"]
    assert totals["acked"] == len(ids)
    assert 0.85 * 160 <= totals["offered"] <= 1.05 * 160


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (127.0.0.1)
        return answer.status, answer.read().decode()


def test_web_ui_run_serves_the_ui_and_tgload_metrics(recorder) -> None:
    rec, url = recorder
    web, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtest" / "locustfile.py"),
            "-H",
            url,
            "--web-host",
            "127.0.0.1",
            "--web-port",
            str(web),
            "--autostart",
            "--autoquit",
            "1",
            "--load-profile",
            "steady",
            "--shape-duration",
            "6",
            "--prometheus-port",
            str(metrics_port),
            "--check-replies",
            "off",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        stats: dict = {}
        for _ in range(80):  # up to ~20 s on a busy machine
            gevent.sleep(0.25)
            try:
                stats = json.loads(_get(f"http://127.0.0.1:{web}/stats/requests")[1])
            except OSError:
                continue
            if stats.get("total_rps", 0) > 0 and rec.deliveries:
                break
        assert stats.get("state") in ("running", "spawning"), stats.get("state")
        status, page = _get(f"http://127.0.0.1:{web}/")
        assert status == 200
        assert "<html" in page.lower()
        _, exposition = _get(f"http://127.0.0.1:{metrics_port}/metrics")
        for metric in metrics.LOAD_METRICS:
            assert metric.series in exposition, metric.series
        assert "tgload_target_rate 40.0" in exposition
        output, _ = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 0, output[-3000:]
    assert "tgscale gates, profile steady" in output
