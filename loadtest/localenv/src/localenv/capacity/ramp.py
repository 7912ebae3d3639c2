"""``python -m localenv capacity`` (``make capacity``): one bot worker's knee and autoscaler advice.

It starts the local environment with ONE bot worker, ramps the arrival rate step by step (the
``step`` profile with the flags as ``--set`` overrides, resolved and checked by the load suite
itself: ``python -m loadtest profile``) through the load suite's runner (``python -m loadtest
run --target ...``), and reads each settled step's achieved rate, p95, mean response
time and error ratio from Locust's stats history, plus the bot's mean in-flight gauge from
Prometheus and its CPU from /proc. The knee is the last good step before the first confirmed
SLO breach, and :mod:`localenv.capacity.limits` names the limit that bound it. From it,
:func:`localenv.capacity.advice.advise` derives the per-pod targets, ``minReplicas`` /
``maxReplicas`` for the planned peak and the Telegram ``max_connections``, with the arithmetic.
All of it goes to ``<report-dir>/capacity.json`` and to stdout. The run stops one step after the
first confirmed breach (two breached steps in a row; no need to keep hammering a broken replica).

Delivery is Telegram's by default: at most ``--max-connections`` requests in flight (what the
webhook is registered with), arrivals beyond them wait in the generator. The open model
(``--model open``) has no such bound, so a short stall of a shared machine piles more
concurrent requests onto the bot than Telegram ever sends, and its ``BOT_MAX_IN_FLIGHT`` cap
sheds them: it measures stalls and the cap, not the replica's throughput.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bot_contract import metrics as m
from bot_contract.webhook import MAX_CONNECTIONS_DEFAULT
from localenv.capacity.advice import Slo, advise, breaches, find_knee
from localenv.capacity.limits import (
    binding_limit,
    cores_over,
    machine_busy_seconds,
    signals_from_prometheus,
    tree_cpu_seconds,
    with_cpu,
)
from localenv.capacity.steps import StepResult
from localenv.environment import LocalEnv, local_environment
from localenv.loadrun import runner_command, runner_env
from localenv.process import LocalEnvError, group_cpu_seconds

#: Locust's "current" percentiles cover the last 10 s (CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW).
_PERCENTILE_WINDOW_S = 10.0
_HISTORY = "locust_stats_history.csv"
#: Telegram's outgoing limits (1 msg/s per chat, 20/min per group, 30/s per bot) hold for the
#: whole fleet, so more replicas do not relieve them; with them on, a ramp measures the traffic
#: model's hot chats, not the replica. Capacity measures the replica (``--with-rate-limits``
#: keeps them).
_NO_RATE_LIMITS = {
    "BOT_RATE_CHAT_INTERVAL_S": "0",
    "BOT_RATE_GROUP_INTERVAL_S": "0",
    "BOT_RATE_GLOBAL_PER_S": "0",
}
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m localenv capacity",
        description="Ramp one bot worker (open model) to its knee and recommend autoscaling.",
    )
    add = parser.add_argument
    add("--profile", default="step", help="template for mix, population and gates (step)")
    # A wider ramp than the step profile's (why: localenv/README.md, "Capacity").
    add("--start-rate", type=float, default=100.0, help="updates/s of the first step (100)")
    add("--step-rate", type=float, default=100.0, help="updates/s added per step (100)")
    add("--steps", type=int, default=16, help="number of steps at most (16)")
    add("--step-s", type=float, default=15.0, help="seconds per step, >= 12 (15)")
    add("--p95-ms", type=float, help="the p95 target that defines the knee (profile's '*' p95)")
    add("--max-error-ratio", type=float, default=0.01, help="SLO error ratio (0.01)")
    add("--min-achieved-ratio", type=float, default=0.95, help="SLO achieved/offered (0.95)")
    add("--peak-rate", type=float, default=100.0, help="fleet peak to plan for, updates/s (100)")
    add("--baseline-rate", type=float, default=20.0, help="quiet-time rate, updates/s (20)")
    add("--headroom", type=float, default=0.7, help="share of the knee per pod (0.7)")
    add("--rtt-ms", type=float, default=100.0, help="Telegram->webhook round trip, ms (100)")
    add("--cpu-request", type=float, default=0.25, help="pod CPU request in cores (0.25)")
    add("--workers", type=int, default=1, help="bot workers to ramp (1: one replica's worth)")
    add(
        "--model",
        choices=("telegram", "open"),
        default="telegram",
        help="delivery: telegram (at most --max-connections in flight, as Telegram) or open "
        "(unbounded concurrency: stalls overflow BOT_MAX_IN_FLIGHT) (telegram)",
    )
    add(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS_DEFAULT,
        help=f"webhook max_connections, registered and used by the telegram model "
        f"({MAX_CONNECTIONS_DEFAULT}, the bot's set-webhook default)",
    )
    add("--report-dir", type=Path, help="default: reports/capacity-<UTC timestamp>/")
    add("--no-early-stop", action="store_true", help="run every step even after a breach")
    add(
        "--with-rate-limits",
        action="store_true",
        help="keep Telegram's outgoing rate limits (bot pacing, emulator 429s); off by default",
    )
    return parser


@dataclass(frozen=True)
class Ramp:
    """The ramp as the load suite reads it (``python -m loadtest profile``).

    Attributes:
        overrides: The ``--set`` overrides that turn the template profile into the ramp.
        rates: Each step's offered rate, updates/s.
        step_s: Seconds per step.
        p95_ms: The template's ``"*"`` p95 gate (the SLO's default target).
        resolved: The suite's whole reading of the profile (kept in the report).
    """

    overrides: tuple[str, ...]
    rates: list[float]
    step_s: float
    p95_ms: float
    resolved: dict[str, Any]


def ramp_overrides(args: argparse.Namespace) -> tuple[str, ...]:
    """The template profile's overrides for this ramp: its shape and delivery from the flags."""
    return (
        'shape.kind="step"',
        f"shape.start={float(args.start_rate)!r}",
        f"shape.step={float(args.step_rate)!r}",
        f"shape.steps={int(args.steps)}",
        f"shape.step_s={float(args.step_s)!r}",
        f"delivery.model={json.dumps(args.model)}",
        f"delivery.max_connections={int(args.max_connections)}",
        f"description={json.dumps(f'capacity ramp generated from {args.profile}')}",
    )


def plan_ramp(args: argparse.Namespace) -> Ramp:
    """Resolve the ramp through the load suite's own profile loader (its checks, its ranges).

    Raises:
        ValueError: a step shorter than the p95 window, or a profile the suite rejects.
    """
    if float(args.step_s) < _PERCENTILE_WINDOW_S + 2:
        raise ValueError(f"step_s must be >= {_PERCENTILE_WINDOW_S + 2:.0f} s (p95 needs 10 s)")
    overrides = ramp_overrides(args)
    command = [sys.executable, "-m", "loadtest", "profile", args.profile]
    command += [f"--set={item}" for item in overrides]
    try:
        done = subprocess.run(  # noqa: S603 (our own interpreter and module)
            command, capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        raise ValueError("python -m loadtest profile did not answer within 120 s") from None
    if done.returncode != 0:
        raise ValueError(done.stderr.strip() or f"loadtest profile: exit {done.returncode}")
    resolved: dict[str, Any] = json.loads(done.stdout)
    stages = resolved["shape"]["stages"]
    return Ramp(
        overrides=overrides,
        rates=[float(stage[1]) for stage in stages],
        step_s=float(stages[0][0]),
        p95_ms=float(resolved["gates"]["p95_ms"].get("*", 500.0)),
        resolved=resolved,
    )


def read_history(path: Path) -> list[dict[str, float]]:
    """The ``Aggregated`` rows of Locust's stats history, as floats (unparseable cells: 0)."""
    rows: list[dict[str, float]] = []
    if not path.is_file():
        return rows
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") != "Aggregated":
                continue
            parsed = {}
            for key, cell in row.items():
                try:
                    parsed[key] = float(cell)
                except (TypeError, ValueError):
                    parsed[key] = 0.0
            rows.append(parsed)
    return rows


def steps_from_history(
    rows: list[dict[str, float]], rates: list[float], step_s: float, started: float
) -> list[StepResult]:
    """One :class:`StepResult` per step whose settled window the history fully covers.

    The window of step ``i`` is its last 10 s (Locust's percentile window), so the p95 read on
    the window's last row belongs to that step alone. Locust stamps rows with whole seconds and
    writes one every second plus its own work, so a stamp sometimes skips a second: 10 rows
    stamped 10 s apart span 9 s, and dividing by the stamps would read 10 % low. The window's
    duration is its row intervals, unless the stamps say the writer stalled (they span more
    than one second beyond the intervals); then it is the stamps' difference.
    """
    results = []
    for index, rate in enumerate(rates):
        end = started + (index + 1) * step_s
        begin = end - _PERCENTILE_WINDOW_S
        window = [r for r in rows if begin <= r["Timestamp"] <= end]
        if len(window) < 2 or rows[-1]["Timestamp"] < end - 1:
            break
        first, last = window[0], window[-1]
        requests = last["Total Request Count"] - first["Total Request Count"]
        failures = last["Total Failure Count"] - first["Total Failure Count"]
        intervals, stamped = len(window) - 1.0, last["Timestamp"] - first["Timestamp"]
        seconds = stamped if stamped > intervals + 1 else intervals
        total_ms = (
            last["Total Average Response Time"] * last["Total Request Count"]
            - first["Total Average Response Time"] * first["Total Request Count"]
        )
        results.append(
            StepResult(
                index=index,
                offered_rate=rate,
                achieved_rate=(requests - failures) / seconds if seconds > 0 else 0.0,
                p95_ms=last["95%"],
                mean_ms=total_ms / requests if requests > 0 else 0.0,
                error_ratio=failures / requests if requests > 0 else 0.0,
                requests=int(requests),
            )
        )
    return results


def in_flight_per_step(
    prometheus_url: str,
    steps: list[StepResult],
    step_s: float,
    started: float,
    max_connections: int | None = None,
) -> list[StepResult]:
    """Add the bot's mean in-flight and its limit signals (Prometheus) over each step's window."""
    from prometheus_api_client import PrometheusConnect

    client = PrometheusConnect(url=prometheus_url, disable_ssl=True)
    window = int(_PERCENTILE_WINDOW_S)
    query = f"avg_over_time(sum({m.UPDATES_IN_FLIGHT.series})[{window}s:1s])"
    out = []
    for step in steps:
        end = started + (step.index + 1) * step_s
        try:
            result = client.custom_query(query=query, params={"time": end})
            value = float(result[0]["value"][1]) if result else None
        except Exception:
            value = None
        signals = signals_from_prometheus(prometheus_url, end, window, max_connections)
        step = replace(step, limits=signals)
        out.append(replace(step, in_flight=value) if value is not None else step)
    return out


@dataclass
class CpuSamples:
    """``(time, CPU seconds)`` samples of the bot, the load generator and the whole machine."""

    bot: list[tuple[float, float]] = field(default_factory=list)
    generator: list[tuple[float, float]] = field(default_factory=list)
    machine: list[tuple[float, float]] = field(default_factory=list)

    def take(self, bot_pgid: int, generator_pid: int) -> None:
        """Append one sample of each."""
        now = time.time()
        self.bot.append((now, group_cpu_seconds(bot_pgid)))
        self.generator.append((now, tree_cpu_seconds(generator_pid)))
        self.machine.append((now, machine_busy_seconds()))


def cpu_per_step(
    samples: CpuSamples, steps: list[StepResult], step_s: float, started: float
) -> list[StepResult]:
    """Add the CPU (cores) of the bot, the generator and the machine over each step's window."""
    out = []
    for step in steps:
        end = started + (step.index + 1) * step_s
        begin = end - _PERCENTILE_WINDOW_S
        limits = with_cpu(
            step.limits,
            cores_over(samples.generator, begin, end),
            cores_over(samples.machine, begin, end),
            os.cpu_count(),
        )
        out.append(replace(step, cpu_cores=cores_over(samples.bot, begin, end), limits=limits))
    return out


def _run_ramp(
    env: LocalEnv,
    argv: list[str],
    run_dir: Path,
    watch: tuple[list[float], float, Slo] | None,
    cpu: CpuSamples,
) -> int:
    """Run the load suite's runner; stop it one step after the first breach when ``watch``.

    Every 2 s it also samples the CPU of the bot, of the runner's process tree and of the
    machine into ``cpu``.
    """
    started = time.time()
    # Locust serves tgload_* on the port Prometheus scrapes: the generator's open connections
    # are a limit signal.
    runner = subprocess.Popen(argv, env=runner_env(env))  # noqa: S603 (our own argv)
    rates, step_s, slo = watch if watch else ([], 0.0, None)
    limit = started + len(rates) * step_s + 600 if watch else None
    stopped = False
    while runner.poll() is None:
        time.sleep(2.0)
        env.check()
        cpu.take(env.pids["bot"], runner.pid)
        if limit is not None and time.time() > limit:
            runner.kill()
            break
        if slo is None or stopped:
            continue
        rows = read_history(run_dir / _HISTORY)
        steps = steps_from_history(rows, rates, step_s, rows[0]["Timestamp"] - 1 if rows else 0)
        knee = find_knee(steps, slo)  # a breach is confirmed by the step after it
        if knee.breach is not None and len(steps) > knee.breach.index + 1:
            sys.stderr.write(
                f"capacity: SLO broken at step {knee.breach.index + 1} and the next; stopping\n"
            )
            runner.send_signal(signal.SIGINT)
            stopped = True
    return runner.wait()


def _binding(breach: StepResult | None, workers: int) -> dict[str, str]:
    """The limit named by the first confirmed breach (what stopped the ramp at the knee)."""
    if breach is None:
        return {"limit": "not reached", "evidence": "no step broke the SLO"}
    limit, evidence = binding_limit(breach, workers=workers)
    return {"limit": limit, "evidence": f"step {breach.index + 1}: {evidence}"}


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _print_report(report: dict[str, Any]) -> None:
    out = sys.stdout
    out.write(
        "\nstep  offered/s  achieved/s   p95 ms  mean ms  errors  in-flight  peak  shed"
        "  bot cpu  gen cpu  verdict\n"
    )
    for step in report["steps"]:
        limits = step["limits"] or {}
        verdict = step["verdict"] + (f" [{step['limit']}]" if step["limit"] else "")
        out.write(
            f"{step['index'] + 1:>4}  {step['offered_rate']:>9.0f}  {step['achieved_rate']:>10.1f}"
            f"  {step['p95_ms']:>7.0f}  {step['mean_ms']:>7.1f}  {step['error_ratio']:>6.3f}"
            f"  {_fmt(step['in_flight']):>9}  {_fmt(limits.get('max_in_flight'), '.0f'):>4}"
            f"  {_fmt(limits.get('shed'), '.0f'):>4}  {_fmt(step['cpu_cores']):>7}"
            f"  {_fmt(limits.get('generator_cpu_cores')):>7}  {verdict}\n"
        )
    binding = report["binding_limit"]
    out.write(f"\nknee bound by: {binding['limit']} ({binding['evidence']})\n")
    advice = report.get("advice")
    if advice:
        out.write("\nautoscaler advice (arithmetic):\n")
        out.writelines(f"  {line}\n" for line in advice["arithmetic"])
        out.writelines(f"  WARNING: {line}\n" for line in advice["warnings"])
        out.write(
            f"\n  => per-pod in-flight target {advice['in_flight_target_per_pod']} "
            f"(or rate target {advice['rate_target_per_pod']}/s), minReplicas "
            f"{advice['min_replicas']}, maxReplicas {advice['max_replicas']}, "
            f"max_connections {advice['max_connections']}\n"
        )
    out.write(f"\n{report['note']}\nreport: {report['report']}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the capacity ramp; 0 with advice, 1 when no knee was found, 2 on set-up errors."""
    args = _parser().parse_args(argv)
    try:
        ramp = plan_ramp(args)
    except (OSError, ValueError) as error:
        sys.stderr.write(f"capacity: {error}\n")
        return EXIT_USAGE
    rates, step_s = ramp.rates, ramp.step_s
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = args.report_dir or Path("reports") / f"capacity-{stamp}"
    run_dir = report_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "capacity-profile.json").write_text(json.dumps(ramp.resolved, indent=2) + "\n")
    p95 = args.p95_ms or ramp.p95_ms
    slo = Slo(p95, args.max_error_ratio, args.min_achieved_ratio)
    sys.stderr.write(
        f"capacity: ramping {args.workers} bot worker(s) over {len(rates)} steps of {step_s:.0f} s "
        f"({rates[0]:.0f} -> {rates[-1]:.0f} updates/s, {args.model} model, max_connections "
        f"{args.max_connections}); SLO p95 <= {p95:.0f} ms\n"
    )
    try:
        limits = {} if args.with_rate_limits else _NO_RATE_LIMITS
        with local_environment(
            workers=args.workers,
            report_dir=report_dir,
            bot_env=limits,
            max_connections=args.max_connections,
            emulator_args=() if args.with_rate_limits else ("--no-flood-control",),
        ) as env:
            ramp_args = ["--profile", args.profile, *(f"--set={item}" for item in ramp.overrides)]
            argv_run = runner_command(env, run_dir, ramp_args)
            watch = None if args.no_early_stop else (rates, step_s, slo)
            cpu = CpuSamples()
            code = _run_ramp(env, argv_run, run_dir, watch, cpu)
            rows = read_history(run_dir / _HISTORY)
            started = rows[0]["Timestamp"] - 1 if rows else 0.0
            steps = steps_from_history(rows, rates, step_s, started)
            if env.prometheus_url and steps:
                connections = args.max_connections if args.model == "telegram" else None
                steps = in_flight_per_step(env.prometheus_url, steps, step_s, started, connections)
            steps = cpu_per_step(cpu, steps, step_s, started)
    except LocalEnvError as error:
        sys.stderr.write(f"capacity: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("capacity: interrupted\n")
        return 130
    if code == EXIT_USAGE or not steps:
        sys.stderr.write(f"capacity: the load run failed (exit {code}); see {run_dir}\n")
        return EXIT_USAGE
    knee = find_knee(steps, slo)
    report: dict[str, Any] = {
        "slo": asdict(slo),
        "workers": args.workers,
        "steps": [{**asdict(s), "little_in_flight": round(s.little_in_flight, 3)} for s in steps],
        "knee": asdict(knee.knee) if knee.knee else None,
        "breach": {"step": asdict(knee.breach), "reasons": list(knee.breach_reasons)}
        if knee.breach
        else None,
        "inputs": {
            "peak_rate": args.peak_rate,
            "baseline_rate": args.baseline_rate,
            "headroom": args.headroom,
            "rtt_ms": args.rtt_ms,
            "cpu_request_cores": args.cpu_request,
        },
        "report": str(report_dir / "capacity.json"),
        "rate_limits": "on" if args.with_rate_limits else "off (per-replica capacity)",
        "delivery": {"model": args.model, "max_connections": args.max_connections},
        "binding_limit": _binding(knee.breach, args.workers),
        "note": "Measured on a shared, noisy 2-core machine where Locust, the emulator and "
        "PostgreSQL share the CPU with the bot: treat the figures as a lower bound and re-run "
        "on the target hardware.",
    }
    for row, step in zip(report["steps"], steps, strict=True):
        reasons = breaches(step, slo)
        row["verdict"] = "BREACH: " + "; ".join(reasons) if reasons else "ok"
        row["limit"] = binding_limit(step, workers=args.workers)[0] if reasons else None
    exit_code = EXIT_OK
    if knee.knee is None:
        report["advice"] = None
        report["note"] += " The first step already broke the SLO: lower --start-rate."
        exit_code = EXIT_ERROR
    else:
        advice = advise(
            knee.knee,
            peak_rate=args.peak_rate,
            baseline_rate=args.baseline_rate,
            headroom=args.headroom,
            rtt_ms=args.rtt_ms,
            cpu_request_cores=args.cpu_request,
        )
        report["advice"] = advice.to_json()
        if knee.breach is None:
            report["note"] += (
                " No step broke the SLO: the knee is at least the last step; raise --steps."
            )
    (report_dir / "capacity.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    _print_report(report)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
