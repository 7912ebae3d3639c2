"""Locust event hooks that turn a plain locustfile into a tgscale run.

``install(events)`` wires: the options (``init_command_line_parser``), the per-process
runtime and generator (``init``/``test_start``/``test_stop``), the worker → master tallies
(``report_to_master``/``worker_report``), the per-second timeline with optional progress lines
and the ``tgload_*`` exporter (master or local runner), and at ``quitting`` the gates, the
verdict table, the report folder and ``environment.process_exit_code``.
"""

from __future__ import annotations

import locust.stats
from locust import LoadTestShape
from locust.runners import MasterRunner, WorkerRunner

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent

from bot_contract.traffic import default_update_id_start
from loadtest import gates as g
from loadtest import options as opts
from loadtest import report
from loadtest.exporter import LoadCollector, serve
from loadtest.prometheus_gates import REPLICAS, Kube, Window, prometheus_gates
from loadtest.runtime import LoadRuntime, attach, current_runtime, runtime_of
from loadtest.shapes import CONNECTION_RAMP_PER_S
from loadtest.tally import bucket_ms, merge_histograms, percentile
from loadtest.timeline import Timeline

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.event import Events
    from locust.runners import Runner

logger = logging.getLogger("loadtest")
#: Seconds the master waits for the workers' final reports before gating.
FINAL_REPORT_WAIT_S = 10.0
_MESSAGE_KEY = "tgscale"


# Finer response-time buckets (3 significant digits instead of 2), so percentile gates are
# not decided by rounding; see tally.bucket_ms. Locust documents this hook.
locust.stats.bucket_response_time = bucket_ms


class ProfileShape(LoadTestShape):
    """Runs the profile's shape: ``max_connections`` users (telegram) or one per process (open).

    After the schedule ends it keeps the users for up to ``--drain-s`` seconds while updates are
    still pending, so the backlog is delivered (or counted) before the gates run.
    """

    abstract = True

    def tick(self) -> tuple[int, float] | None:
        """Users and spawn rate for now, or ``None`` to end the run."""
        runner = self.runner
        if runner is None:
            raise RuntimeError("Locust ticks a shape only once it has a runner")
        runtime = runtime_of(runner.environment)
        shape = runtime.settings.profile.shape
        t: float = self.get_run_time()  # type: ignore[no-untyped-call]  # locust is untyped
        if runtime.model == "telegram":
            users, rate = runtime.settings.profile.delivery.max_connections, CONNECTION_RAMP_PER_S
        else:
            workers = runner.worker_count if isinstance(runner, MasterRunner) else 1
            users, rate = max(1, workers), 100.0
        if shape.rate_at(t) is not None:
            return users, rate
        drain = runtime.settings.drain_s
        # Pending counts of workers are up to one report interval (3 s) old: trust them later.
        settle = min(drain, 4.0 if isinstance(runner, MasterRunner) else 1.0)
        over = t - shape.duration_s
        if over < settle or (over < drain and runtime.fleet_gauges()[0] > 0):
            return users, rate
        return None


def install(events: Events) -> None:
    """Register every hook on Locust's ``events``."""
    hooks = (
        (events.init_command_line_parser, opts.register),
        (events.init, _on_init),
        (events.test_start, _on_test_start),
        (events.test_stop, _on_test_stop),
        (events.report_to_master, _on_report_to_master),
        (events.worker_report, _on_worker_report),
        (events.quitting, _on_quitting),
    )
    for hook, listener in hooks:
        hook.add_listener(listener)  # type: ignore[no-untyped-call]  # locust is untyped


def _settings(environment: Environment) -> opts.Settings:
    try:
        return opts.settings_from(environment.parsed_options)  # type: ignore[arg-type]
    except ValueError as error:
        logger.error("tgscale: %s", error)
        sys.exit(2)


def _on_init(environment: Environment, runner: Runner | None = None, **_: Any) -> None:
    if runner is None or isinstance(runner, WorkerRunner):
        return  # workers get their options from the master at the first spawn
    attach(environment, LoadRuntime(_settings(environment)))  # fail fast on a bad profile
    options = environment.parsed_options
    if options is not None and options.prometheus_port:
        collector = LoadCollector(
            lambda: runtime_of(environment).aggregate,
            lambda: _response_by_type(environment),
            lambda: _target_rate(environment),
            # The live gauges: this process's own in a one-process run, else the workers' sum.
            lambda: runtime_of(environment).fleet_gauges(),
        )
        bound = serve(collector, options.prometheus_port, options.prometheus_bind)
        logger.info("tgscale: tgload_* metrics on %s:%d/metrics", options.prometheus_bind, bound)


def _on_test_start(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    options = environment.parsed_options
    if runner is None or options is None:
        raise RuntimeError("Locust fired test_start without a runner or options")
    runtime = LoadRuntime(_settings(environment))
    attach(environment, runtime)
    if isinstance(runner, WorkerRunner):
        runtime.start_generating(
            runner.worker_index, options.tgscale_slots, options.tgscale_id_start
        )
        return
    id_start = runtime.settings.update_id_start or default_update_id_start()
    runtime.started_at = time.time()
    if isinstance(runner, MasterRunner):
        # Custom option values travel to the workers with every spawn message.
        options.tgscale_slots = max(1, runner.worker_index_max)
        options.tgscale_id_start = id_start
    else:
        runtime.aggregate = runtime.tally  # one process: the local tally is the aggregate
        runtime.start_generating(0, 1, id_start)
    timeline = Timeline(environment, runtime, options.progress_interval)
    environment.tgscale_timeline = timeline  # type: ignore[attr-defined]
    timeline.start()


def _on_test_stop(**_: Any) -> None:
    runtime = current_runtime()
    if runtime is not None:
        runtime.stop_generating()
        runtime.stopped_at = time.time()
        if runtime.aggregate is runtime.tally:  # the summary's pending_at_end reads gauges
            runtime.tally.gauges["local"] = runtime.gauges()


def _on_report_to_master(data: dict[str, Any], **_: Any) -> None:
    runtime = current_runtime()
    if runtime is None:
        return
    payload = runtime.tally.drain()
    payload["gauges"] = list(runtime.gauges())
    payload["final"] = runtime.stopping
    data[_MESSAGE_KEY] = payload


def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    payload = data.get(_MESSAGE_KEY)
    runtime = current_runtime()
    if payload is None or runtime is None:
        return
    runtime.aggregate.merge(payload)
    pending, in_flight = payload.get("gauges", (0, 0))
    runtime.aggregate.gauges[client_id] = (int(pending), int(in_flight))
    if payload.get("final"):
        runtime.final_reports.add(client_id)


def _response_by_type(environment: Environment) -> dict[str, dict[int, int]]:
    """Response-time histograms per update type, merged over ``update:<type>[:cmd]`` entries."""
    out: dict[str, dict[int, int]] = {}
    for (name, _method), entry in list(environment.stats.entries.items()):
        if not name.startswith("update:"):
            continue
        kind = name.split(":")[1]
        merge_histograms(out.setdefault(kind, {}), entry.response_times)
    return out


def _target_rate(environment: Environment) -> float:
    runtime = runtime_of(environment)
    if runtime.started_at is None or runtime.stopped_at is not None:
        return 0.0
    rate = runtime.settings.profile.shape.rate_at(runtime.elapsed())
    return 0.0 if rate is None else rate * runtime.settings.rate_scale


def _wait_for_final_reports(runner: MasterRunner, runtime: LoadRuntime) -> None:
    deadline = time.monotonic() + FINAL_REPORT_WAIT_S
    while time.monotonic() < deadline:
        expected = {client.id for client in runner.clients.all}
        if expected <= runtime.final_reports:
            return
        gevent.sleep(0.2)
    logger.warning("tgscale: some workers sent no final report; their last counts are missing")


def _on_quitting(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if runner is None or isinstance(runner, WorkerRunner):
        return
    runtime = current_runtime()
    if runtime is None or runtime.started_at is None:
        return  # never started (e.g. the web UI was opened and closed)
    if isinstance(runner, MasterRunner):
        _wait_for_final_reports(runner, runtime)
    timeline: Timeline | None = getattr(environment, "tgscale_timeline", None)
    if timeline is not None:
        timeline.stop()
    finish(environment, runtime, timeline)


def finish(environment: Environment, runtime: LoadRuntime, timeline: Timeline | None) -> None:
    """Gate the run, print the verdicts, write the report folder, set the exit code."""
    settings = runtime.settings
    profile = settings.profile
    agg = runtime.aggregate
    total = environment.stats.total
    results = g.Results(
        response_ms=_response_by_type(environment),
        requests=total.num_requests,
        failures=total.num_failures,
        lag_ms=agg.lag_all(),
        offered=sum(agg.offered.values()),
        acked=sum(agg.acked.values()),
        expired=sum(agg.expired.values()),
        redeliveries=sum(agg.redeliveries.values()),
        reply_messages=agg.reply_messages,
        reply_callbacks=agg.reply_callbacks,
    )
    verdicts = g.slo_gates(results, profile.gates)
    if profile.gates.replies:
        verdicts.append(
            g.reply_gate(settings.emulator_url, agg.reply_messages, agg.reply_callbacks)
        )
    started = runtime.started_at or time.time()
    ended = runtime.stopped_at or time.time()
    spike = profile.shape.spike()
    window = Window(
        started, ended, None if spike is None else (started + spike[0], started + spike[1])
    )
    kube = Kube(settings.k8s["deployment"], settings.k8s["hpa"], settings.k8s["namespace"])
    verdicts += prometheus_gates(settings.prometheus_url, profile.gates, window, kube)
    runner = environment.runner
    had_exceptions = bool(runner and runner.exceptions)
    if verdicts:
        environment.process_exit_code = g.exit_code(verdicts, had_exceptions=had_exceptions)
    for verdict in verdicts:
        if verdict.verdict == "fail":
            logger.error(verdict.line())
    table = g.verdict_table(verdicts) if verdicts else "(no gates configured)"
    sys.stdout.write(f"\ntgscale gates, profile {profile.name}:\n{table}\n")
    if settings.report_dir:
        folder = Path(settings.report_dir)
        folder.mkdir(parents=True, exist_ok=True)
        rows = timeline.rows if timeline is not None else []
        summary = _summary(runtime, results, rows, started, ended)
        report.write_summary(folder, summary, verdicts)
        report.write_junit(folder, profile.name, verdicts)
        replicas = _replica_series(settings.prometheus_url, window, kube, started)
        report.write_chart(
            folder, rows, f"tgscale {profile.name} ({profile.delivery.model})", replicas
        )
        sys.stdout.write(f"tgscale report: {folder}\n")
    sys.stdout.flush()


def _summary(
    runtime: LoadRuntime,
    results: g.Results,
    rows: list[dict[str, Any]],
    started: float,
    ended: float,
) -> report.Summary:
    profile = runtime.settings.profile
    agg = runtime.aggregate
    by_type = {
        kind: report.TypeLatency(
            requests=sum(h.values()),
            p50_ms=percentile(h, 0.5),
            p95_ms=percentile(h, 0.95),
            p99_ms=percentile(h, 0.99),
        )
        for kind, h in sorted(results.response_ms.items())
    }
    duration = max(ended - started, 1e-9)
    return report.Summary(
        profile=profile.name,
        description=profile.description,
        model=profile.delivery.model,
        max_connections=profile.delivery.max_connections,
        shape=profile.shape.describe(),
        rate_scale=runtime.settings.rate_scale,
        started_at=started,
        ended_at=ended,
        duration_s=duration,
        totals=report.Totals(
            offered=results.offered,
            acked=results.acked,
            expired=results.expired,
            redeliveries=results.redeliveries,
            requests=results.requests,
            failures=results.failures,
            duplicates_injected=agg.duplicates_injected,
            not_created=agg.not_created,
            pending_at_end=agg.pending,
            offered_rate=results.offered / duration,
            achieved_rate=results.acked / duration,
            lag_p50_ms=percentile(results.lag_ms, 0.5),
            lag_p99_ms=percentile(results.lag_ms, 0.99),
        ),
        by_type=by_type,
        offered_by_type=dict(agg.offered),
        acked_by_type=dict(agg.acked),
        deliveries=dict(agg.deliveries),
        timeline=rows,
    )


def _replica_series(
    url: str, window: Window, kube: Kube, started: float
) -> list[tuple[float, float]] | None:
    if not url:
        return None
    from loadtest.prometheus_gates import _Client

    try:
        series = _Client(url).series(
            f"max({REPLICAS}{kube.selector('deployment', kube.deployment)})", window
        )
    except Exception:
        return None
    return None if series is None else [(t - started, v) for t, v in series]
