"""``make capacity`` names the limit that bound the knee, from signals it really measures.

The verdict's order (cause before symptom), the per-step signals read from a real bot's metrics
through a real Prometheus (a burst that overflows ``BOT_MAX_IN_FLIGHT`` must read as sheds, the
in-flight cap as the limit), the CPU of a process tree, the step rates from Locust's
whole-second stamps, and the ramp profile's delivery model.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest

from bot_contract.updates import Chat, User, text_update
from bot_contract.webhook import SECRET_HEADER
from localenv.capacity.limits import (
    binding_limit,
    cores_over,
    signals_from_prometheus,
    tree_cpu_seconds,
)
from localenv.capacity.ramp import _parser, plan_ramp, read_history, steps_from_history
from localenv.capacity.steps import LimitSignals, StepResult
from localenv.environment import local_environment

FIELDS = ["Timestamp", "Name", "95%", "Total Request Count", "Total Failure Count",
          "Total Average Response Time"]  # fmt: skip


def _step(cpu: float | None = 0.3, **signals: float) -> StepResult:
    return StepResult(
        index=4, offered_rate=250, achieved_rate=240, p95_ms=900, mean_ms=50, error_ratio=0.02,
        requests=2400, cpu_cores=cpu, limits=LimitSignals(**signals),  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("step", "limit"),
    [
        (_step(generator_cpu_cores=0.97, shed=40), "load generator"),
        (_step(cpu=0.95, shed=40, pool_waiting_max=5), "bot CPU"),  # CPU causes the sheds
        (_step(rate_limited=12, retried=12), "Telegram rate limits"),
        (_step(shed=41, max_in_flight=64, in_flight_cap=64), "in-flight cap"),
        (_step(retried=9, pool_waiting_max=30), "database pool"),
        (_step(retried=3), "transient failures"),
        (_step(connections_busy_max=40, max_connections=40, machine_cores=2), "max_connections"),
        (_step(connections_busy_max=40, max_connections=None), "none found"),  # open model
        (_step(machine_busy_cores=1.9, machine_cores=2), "shared machine"),
        (_step(machine_busy_cores=0.8, machine_cores=2), "none found"),
    ],
)
def test_the_binding_limit_names_the_cause_before_its_symptoms(
    step: StepResult, limit: str
) -> None:
    assert binding_limit(step)[0] == limit


def test_the_in_flight_verdict_quotes_its_numbers_and_cpu_scales_with_workers() -> None:
    name, evidence = binding_limit(_step(shed=41, max_in_flight=64, in_flight_cap=64))
    assert name == "in-flight cap"
    assert "41 deliveries shed" in evidence
    assert "= 64 full" in evidence
    assert "bot CPU 0.30 cores" in evidence
    # 0.95 cores is one busy worker, but half of two.
    assert binding_limit(_step(cpu=0.95, shed=1), workers=2)[0] == "in-flight cap"
    assert binding_limit(StepResult(0, 1, 1, 1, 1, 0))[0] == "unknown"
    connections = _step(connections_busy_max=40, max_connections=40)
    assert "at most 40 / W = 800 updates/s" in binding_limit(connections)[1]  # W = 50 ms


def test_step_rates_survive_a_skipped_whole_second_stamp(tmp_path: Path) -> None:
    # Locust writes a row every ~1.01 s stamped int(time): at 250/s one window's stamps skip
    # a second (..., 71, 73, ...). Dividing by the stamps read 225/s, a false 0.90 breach.
    path = tmp_path / "history.csv"
    real, total, rows = 1000.9, 0, []
    for _ in range(40):
        real += 1.012
        total += 250
        rows.append({"Timestamp": int(real), "Name": "Aggregated", "95%": 6,
                     "Total Request Count": total, "Total Failure Count": 0,
                     "Total Average Response Time": 5.0})  # fmt: skip
    stamps = [row["Timestamp"] for row in rows]
    assert len(set(stamps)) == len(stamps)
    assert stamps[-1] - stamps[0] > len(stamps) - 1  # a second was skipped
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    history = read_history(path)
    steps = steps_from_history(history, [250.0, 250.0], 15.0, history[0]["Timestamp"] - 1)
    assert len(steps) == 2
    for step in steps:  # 250 per row, a row every 1.012 s
        assert step.achieved_rate == pytest.approx(250.0 / 1.012, rel=0.02)


def test_a_writer_stall_is_timed_by_the_stamps(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    stamps = [1001, 1002, 1003, 1004, 1005, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 1016]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        for stamp in stamps:  # 100/s throughout, one row every second but a 4 s gap
            row = {"Timestamp": stamp, "Name": "Aggregated", "95%": 6, "Total Failure Count": 0}
            row["Total Request Count"] = (stamp - 1000) * 100
            row["Total Average Response Time"] = 5.0
            writer.writerow(row)
    (step,) = steps_from_history(read_history(path), [100.0], 15.0, 1000.0)
    assert step.achieved_rate == pytest.approx(100.0)


def test_the_ramp_uses_telegrams_delivery_by_default() -> None:
    """The ramp is the load suite's reading of the step profile with the flags applied."""
    ramp = plan_ramp(_parser().parse_args([]))
    delivery = ramp.resolved["delivery"]
    assert (delivery["model"], delivery["max_connections"]) == ("telegram", 40)
    assert ramp.rates == [100.0 + 100.0 * i for i in range(16)]  # --start/--step-rate/--steps
    assert ramp.step_s == 15.0
    assert ramp.p95_ms == 500.0  # step.toml's p95_ms "*"
    args = _parser().parse_args(["--model", "open", "--max-connections", "100"])
    delivery = plan_ramp(args).resolved["delivery"]
    assert (delivery["model"], delivery["max_connections"]) == ("open", 100)
    # One range check, the suite's own (DeliveryConfig), rejects Telegram's out-of-range value.
    with pytest.raises(ValueError, match=r"max_connections must be 1\.\.100"):
        plan_ramp(_parser().parse_args(["--max-connections", "101"]))
    with pytest.raises(ValueError, match=r"step_s must be >= 12"):
        plan_ramp(_parser().parse_args(["--step-s", "5"]))


def test_tree_cpu_counts_children_and_cores_are_a_rate() -> None:
    burn = "sum(i * i for i in range(3_000_000)); import sys; sys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE)
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 60
        child_cpu = 0.0
        while time.monotonic() < deadline:  # bounded: wait until the child's work is done
            fields = stat.read_text().rsplit(")", 1)[1].split()
            child_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            if fields[0] == "S" and child_cpu > 0:
                break
            time.sleep(0.05)
        assert child_cpu > 0
        ours = tree_cpu_seconds(os.getpid())
        assert ours >= child_cpu + time.process_time() * 0.5  # the child is counted
        assert tree_cpu_seconds(child.pid) == pytest.approx(child_cpu, abs=0.02)
    finally:
        child.kill()
        child.wait()
        child.stdin.close()  # type: ignore[union-attr]  # a pipe: Popen(stdin=PIPE)
    samples = [(0.0, 10.0), (5.0, 12.0), (10.0, 15.0), (20.0, 40.0)]
    assert cores_over(samples, 0.0, 10.0) == 0.5
    assert cores_over(samples, 4.0, 6.0) is None  # one sample is no rate


def _post(url: str, secret: str, update_id: int) -> int:
    user = User(id=7000 + update_id, first_name="Shed")
    body = text_update(update_id, message_id=1, user=user, chat=Chat.private(user),
                       date=int(time.time()), text="hello")  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 (our own loopback URL)
        url, data=orjson.dumps(body), headers={SECRET_HEADER: secret,
                                               "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed")
def test_a_burst_over_the_in_flight_cap_reads_as_sheds(database_url: str, tmp_path: Path) -> None:
    # Two slots, each held 400 ms: of 10 simultaneous deliveries most are shed, all within
    # one scrape, so the shed series is born with its final value inside the window.
    bot_env = {"DATABASE_URL": database_url, "BOT_MAX_IN_FLIGHT": "2",
               "BOT_TEST_HANDLER_DELAY_MS": "400"}  # fmt: skip
    with local_environment(workers=1, bot_env=bot_env, report_dir=tmp_path) as env:
        assert env.prometheus_url is not None
        time.sleep(2 * env.scrape_interval_s)  # a scrape before the burst: the window's start
        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(lambda i: _post(env.webhook_url, env.secret, i), range(10)))
        shed = statuses.count(503)
        assert shed >= 1
        assert statuses.count(200) + shed == 10
        signals = LimitSignals()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded: until Prometheus has scraped the sheds
            signals = signals_from_prometheus(env.prometheus_url, time.time(), 60)
            if signals.shed == shed:
                break
            time.sleep(0.5)
        assert signals.shed == shed
        assert signals.retried == 0
        assert signals.rate_limited == 0
        assert signals.in_flight_cap == 2
    step = StepResult(0, 10, 10 - shed, 400, 400, shed / 10, requests=10, cpu_cores=0.05,
                      limits=signals)  # fmt: skip
    assert binding_limit(step)[0] == "in-flight cap"
