"""Which limit bound the knee of ``make capacity``: per-step signals and the verdict.

A step breaks the SLO because something ran out. Per step's settled window this module reads
what each candidate limit showed: from Prometheus the bot's shed 503s (``BOT_MAX_IN_FLIGHT``
full) and transient 503s (pool timeout, database, Bot API, rate-slot wait), its in-flight peak
against the cap, requests waiting for a pool connection and the emulator's 429s (Telegram's
rate limits); from ``/proc`` the CPU of the bot, of the load generator and of the whole
machine. :func:`binding_limit` turns them into one named limit with the numbers behind it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot_contract import metrics as m
from localenv.capacity.steps import LimitSignals

if TYPE_CHECKING:
    from localenv.capacity.steps import StepResult

#: A Locust process is one gevent loop: near one core it is the bottleneck, not the bot.
GENERATOR_BUSY_CORES = 0.9
#: A bot worker is one asyncio loop: near one core per worker it is CPU-bound.
BOT_BUSY_CORES_PER_WORKER = 0.85
#: The machine counts as saturated when its busy share of all cores reaches this.
MACHINE_BUSY_SHARE = 0.9


def _delta(selector: str, window_s: int) -> str:
    """How much a counter rose over the window, counting a series born inside it from zero.

    Not ``increase()``: a labelled counter has no series until it first moves (no shed until
    the first shed), and ``increase()`` takes a series' first sample as its baseline, so a
    burst of sheds within one scrape would read 0. The raw difference of the latest samples
    at the window's end and start, each ``or vector(0)``, counts it, and exactly.
    """
    return f"(sum({selector}) or vector(0)) - (sum({selector} offset {window_s}s) or vector(0))"


def prometheus_queries(window_s: int) -> dict[str, str]:
    """The PromQL per :class:`LimitSignals` field, evaluated at the end of a step's window."""
    updates = m.UPDATES.series
    return {
        "shed": _delta(f'{updates}{{outcome="{m.Outcome.SHED.value}"}}', window_s),
        "retried": _delta(f'{updates}{{outcome="{m.Outcome.RETRY.value}"}}', window_s),
        "max_in_flight": f"max_over_time(sum({m.UPDATES_IN_FLIGHT.series})[{window_s}s:1s])",
        "in_flight_cap": f"max_over_time(sum({m.UPDATES_IN_FLIGHT_LIMIT.series})[{window_s}s:1s])",
        "pool_waiting_max": f"max_over_time(sum({m.DB_POOL_WAITING.series})[{window_s}s:1s])",
        "rate_limited": _delta(m.EMULATOR_RATE_LIMITED.series, window_s),
        "connections_busy_max": f"max_over_time(sum({m.LOAD_IN_FLIGHT.series})[{window_s}s:1s])",
    }


def signals_from_prometheus(
    prometheus_url: str, at: float, window_s: int, max_connections: int | None = None
) -> LimitSignals:
    """Evaluate :func:`prometheus_queries` at ``at``; a query that fails leaves ``None``.

    The counters' queries always answer (see :func:`_delta`); a gauge with no samples in the
    window (an exporter Prometheus does not scrape) stays ``None``: unknown, not zero.
    """
    from prometheus_api_client import PrometheusConnect

    client = PrometheusConnect(url=prometheus_url, disable_ssl=True)
    values: dict[str, float | None] = {}
    for name, query in prometheus_queries(window_s).items():
        try:
            result = client.custom_query(query=query, params={"time": at})
            values[name] = round(float(result[0]["value"][1]), 3) if result else None
        except Exception:  # Prometheus down or a bad answer: unknown, never a crash
            values[name] = None
    # The keys are LimitSignals' float fields.
    return LimitSignals(**values, max_connections=max_connections)  # type: ignore[arg-type]


def tree_cpu_seconds(root_pid: int) -> float:
    """User plus system CPU seconds of ``root_pid`` and every live descendant (``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited while we looked
            continue
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        used[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    total = 0
    for pid, ticks_used in used.items():
        ancestor, hops = pid, 0
        while ancestor not in (0, 1, root_pid) and hops < 64:  # bounded: pid trees are shallow
            ancestor, hops = parent.get(ancestor, 0), hops + 1
        if ancestor == root_pid:
            total += ticks_used
    return total / ticks


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle or iowait) since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user..steal minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def cores_over(samples: list[tuple[float, float]], begin: float, end: float) -> float | None:
    """Mean cores used between ``begin`` and ``end`` from ``(time, cpu seconds)`` samples."""
    window = [s for s in samples if begin <= s[0] <= end]
    if len(window) < 2 or window[-1][0] <= window[0][0]:
        return None
    used = window[-1][1] - window[0][1]
    return round(used / (window[-1][0] - window[0][0]), 3) if used >= 0 else None


def with_cpu(
    signals: LimitSignals | None,
    generator: float | None,
    machine: float | None,
    machine_cores: int | None,
) -> LimitSignals:
    """``signals`` (or empty ones) with the generator's and the machine's CPU filled in."""
    return replace(
        signals or LimitSignals(),
        generator_cpu_cores=generator,
        machine_busy_cores=machine,
        machine_cores=machine_cores,
    )


def binding_limit(step: StepResult, *, workers: int = 1) -> tuple[str, str]:
    """Name the limit that bound ``step`` (the first breached one): ``(limit, evidence)``.

    The order is cause before symptom: a starved generator makes every other figure
    meaningless; a CPU-bound bot sheds and queues as a consequence, so CPU wins over the
    in-flight cap and the pool; Telegram's rate limits explain 503s of their own.

    Limits: ``load generator``, ``bot CPU``, ``Telegram rate limits``, ``in-flight cap``,
    ``database pool``, ``transient failures``, ``max_connections`` (every webhook connection
    was busy, so the rate cannot pass ``max_connections / W``), ``shared machine`` (the
    machine's cores were busy while no limit of the bot's ran out), ``none found`` and
    ``unknown`` (no signals).
    """
    s = step.limits
    if s is None:
        return "unknown", "no signals were measured for this step"
    cpu = step.cpu_cores
    bot = f"bot CPU {cpu:.2f} cores" if cpu is not None else "bot CPU unknown"
    gen = s.generator_cpu_cores
    if gen is not None and gen >= GENERATOR_BUSY_CORES:
        return "load generator", (
            f"the load generator used {gen:.2f} cores (one Locust process tops out near 1); "
            f"{bot}: the bot was not the limit, add Locust processes"
        )
    if cpu is not None and cpu >= BOT_BUSY_CORES_PER_WORKER * workers:
        return "bot CPU", (
            f"{bot} of {workers} worker(s) at {step.achieved_rate:.0f} updates/s"
            + _also(s, "shed", "shed 503s")
            + _also(s, "pool_waiting_max", "peak pool waiters")
        )
    if s.rate_limited:
        return "Telegram rate limits", (
            f"the emulator answered {s.rate_limited:.0f} calls 429 (Telegram's flood control); "
            f"{bot}" + _also(s, "retried", "transient 503s")
        )
    if s.shed:
        # The in-flight peak is sampled at scrapes (every 2 s): a burst between them is missed,
        # so it is no evidence against the sheds, which the bot counts itself.
        cap = f"{s.in_flight_cap:.0f}" if s.in_flight_cap is not None else "?"
        return "in-flight cap", (
            f"{s.shed:.0f} deliveries shed (503) with BOT_MAX_IN_FLIGHT x workers = {cap} full "
            f"while the {bot}: more requests arrived at once than the cap admits (a stall, or "
            "more concurrency than Telegram's max_connections would send)"
            + _also(s, "pool_waiting_max", "peak pool waiters")
        )
    if s.retried and s.pool_waiting_max:
        return "database pool", (
            f"{s.retried:.0f} transient 503s with up to {s.pool_waiting_max:.0f} requests "
            f"waiting for a pool connection; {bot}"
        )
    if s.retried:
        return "transient failures", (
            f"{s.retried:.0f} transient 503s (database, Bot API or send-slot waits; see "
            f"logs/bot.log); {bot}"
        )
    if s.pool_waiting_max:
        return "database pool", f"up to {s.pool_waiting_max:.0f} requests waited; {bot}"
    busy, cores = s.machine_busy_cores, s.machine_cores
    machine = f"; machine {busy:.2f} of {cores} cores busy" if busy is not None else ""
    conns, busiest = s.max_connections, s.connections_busy_max
    if conns and busiest is not None and busiest >= conns:
        ceiling = conns * 1000 / step.mean_ms if step.mean_ms > 0 else float("inf")
        return "max_connections", (
            f"all {conns} webhook connections were busy: at W = {step.mean_ms:.1f} ms they "
            f"carry at most {conns} / W = {ceiling:.0f} updates/s; {bot}{machine}"
        )
    if busy is not None and cores and busy >= MACHINE_BUSY_SHARE * cores:
        return "shared machine", (
            f"the machine's {cores} cores were {100 * busy / cores:.0f}% busy while the {bot} "
            "and no limit of the bot's ran out: the other processes (PostgreSQL, emulator, "
            "Locust, neighbours) took the CPU"
        )
    return (
        "none found",
        f"no shed, transient 503, pool wait, 429 or busy connection; {bot}{machine}",
    )


def _also(signals: LimitSignals, field: str, label: str) -> str:
    value = getattr(signals, field)
    return f"; {label} {value:.0f}" if value else ""
