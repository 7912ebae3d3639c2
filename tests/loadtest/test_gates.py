import json
import xml.etree.ElementTree as ET

import pytest
from gevent.pywsgi import WSGIServer
from prometheus_client import CollectorRegistry, generate_latest

from bot_contract import metrics
from loadtest import gates as g
from loadtest import report
from loadtest.exporter import LoadCollector
from loadtest.profiles import GateConfig
from loadtest.tally import Tally, bucket_ms, bucket_upper_ms, percentile


def _results(**overrides):
    base = {
        "response_ms": {"text": {10: 90, 150: 10}},
        "requests": 100,
        "failures": 0,
        "lag_ms": {20: 99, 900: 1},
        "offered": 100,
        "acked": 100,
    }
    return g.Results(**{**base, **overrides})


def test_percentile_gates_pass_and_fail_per_type() -> None:
    gates = GateConfig(p95_ms={"*": 200, "text": 100})
    verdicts = {r.name: r for r in g.slo_gates(_results(), gates)}
    assert verdicts["p95 response time text"].verdict == "fail"
    assert verdicts["p95 response time text"].measured == 150
    ok = g.slo_gates(_results(), GateConfig(p95_ms={"*": 200}))
    assert [r.verdict for r in ok] == ["pass"]


def test_rounding_never_turns_a_breach_into_a_pass() -> None:
    # 100.4 ms rounds to the 100 bucket, whose upper edge is 100.5: a 100 ms gate fails.
    histogram = {bucket_ms(100.4): 100}
    assert bucket_upper_ms(100) > 100
    result = g.slo_gates(_results(response_ms={"text": histogram}), GateConfig(p99_ms={"*": 100}))
    assert result[0].verdict == "fail"
    assert bucket_ms(1234.0) == 1230
    assert bucket_ms(98765) == 98800


def test_error_ratio_lag_and_achieved_gates() -> None:
    gates = GateConfig(error_ratio=0.01, lag_p99_ms=500, min_achieved_ratio=0.99)
    good = {r.name: r.verdict for r in g.slo_gates(_results(lag_ms={20: 100}), gates)}
    assert good == {"error ratio": "pass", "delivery lag p99": "pass", "achieved/offered": "pass"}
    bad = g.slo_gates(_results(failures=5, lag_ms={900: 10}, acked=90), gates)
    assert [r.verdict for r in bad] == ["fail", "fail", "fail"]
    assert g.exit_code(bad, had_exceptions=False) == 3
    assert g.exit_code(g.slo_gates(_results(lag_ms={1: 1}), gates), had_exceptions=True) == 1
    line = bad[0].line()
    assert line.startswith("CHECK FAILED: error ratio 0.05 (threshold 0.01)")


def test_missing_data_is_never_a_silent_pass() -> None:
    gates = GateConfig(p95_ms={"photo": 100}, error_ratio=0.1, lag_p99_ms=1, min_achieved_ratio=1)
    empty = g.Results(response_ms={}, requests=0, failures=0, lag_ms={}, offered=0, acked=0)
    verdicts = [r.verdict for r in g.slo_gates(empty, gates)]
    assert "pass" not in verdicts
    assert verdicts == ["n/a", "n/a", "fail", "fail"]


@pytest.fixture
def emulator():
    seen: list[dict] = []

    def app(environ, start_response):
        body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        seen.append(body)
        missing = [m for m in body["messages"] if m[1] % 2 == 0]
        answer = {
            "missing_messages": missing,
            "missing_callback_queries": [],
            "checked": len(body["messages"]) + len(body["callback_queries"]),
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.stop()


def test_reply_gate_asks_the_emulator(emulator) -> None:
    url, seen = emulator
    ok = g.reply_gate(url, [[1, 1], [1, 3]], ["q1"], chunk=1)
    assert ok.verdict == "pass"
    assert len(seen) == 2
    assert seen[0]["messages"] == [[1, 1]]
    missing = g.reply_gate(url, [[1, 1], [1, 2]], [], rechecks=2, recheck_wait_s=0.01)
    assert len(seen) == 2 + 1 + 2  # the missing reply was asked about again, twice
    assert seen[-1]["messages"] == [[1, 2]]
    assert missing.verdict == "fail"
    assert missing.measured == 1
    assert "[1, 2]" in missing.reason
    assert g.reply_gate("", [], []).verdict == "n/a"
    assert g.reply_gate("http://127.0.0.1:9", [[1, 1]], []).verdict == "fail"


def test_junit_has_one_case_per_gate(tmp_path) -> None:
    verdicts = [
        g.GateResult("p95 response time text", "fail", 150.0, 100.0, " ms"),
        g.GateResult("error ratio", "pass", 0.0, 0.01),
        g.GateResult("scale up", "n/a", reason="no cluster"),
    ]
    root = ET.parse(  # noqa: S314 (our own file)
        report.write_junit(tmp_path, "peak", verdicts)
    ).getroot()
    cases = root.findall("testcase")
    assert [c.get("name") for c in cases] == [v.name for v in verdicts]
    assert root.get("failures") == "1"
    assert root.get("skipped") == "1"
    assert "threshold 100" in cases[0].find("failure").get("message")


def test_exporter_serves_every_load_metric() -> None:
    tally = Tally()
    tally.offered["text"] += 3
    tally.acked["text"] += 2
    tally.deliveries["text|200"] += 2
    tally.record_lag("text", 0.02)
    tally.gauges["w1"] = (1, 1)
    registry = CollectorRegistry()
    registry.register(LoadCollector(lambda: tally, lambda: {"text": {5: 2}}, lambda: 42.0))
    text = generate_latest(registry).decode()
    for metric in metrics.LOAD_METRICS:
        assert metric.series in text, metric.series
    assert 'tgload_updates_offered_total{update_type="text"} 3.0' in text
    assert 'tgload_delivery_lag_seconds_bucket{le="0.025",update_type="text"} 1.0' in text
    assert "tgload_target_rate 42.0" in text
    assert percentile({5: 2}, 0.99) == 5
    assert "tgload_requests_in_flight 1.0" in text  # the workers' reports, from the tally


def test_exporter_gauges_are_live_in_a_one_process_run() -> None:
    # A one-process run has no worker reports: the tally's gauges stay empty until the end,
    # so the live (pending, in flight) must come from the runtime, or the series reads 0.
    collector = LoadCollector(Tally, dict, lambda: 0.0, lambda: (7, 40))
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert "tgload_pending_updates 7.0" in text
    assert "tgload_requests_in_flight 40.0" in text
