# ruff: noqa: T201, S603, S607, S105, D102, D103, E501, TC003  (a benchmark script, not shipped)
"""Benchmark: our bot vs PTB's run_webhook vs PTB behind uvicorn, side by side, in one run.

    uv run --no-sync python bot/bench/bench_bot.py [--rounds N] [--duration S] [--profile]

wrk (one thread, ``--connections`` keep-alive connections, pinned to core 0) posts realistic
text-message updates; each server is pinned to core 1. All servers stay up, and each of
``--rounds`` rounds measures every one of them once; the table shows medians over rounds and
the ratios are taken within a round, so this shared machine's slow phases cancel out. A local nginx answers the Bot API calls
(a fixed JSON, almost no CPU), and PostgreSQL is embedded (pgserver) unless DATABASE_URL is set;
both share core 0 with wrk, so the server's core runs only the server.
Only **handled** updates count (work finished: replies sent by our outbox sender, or answered
in the webhook body, for ours; handler completions for PTB), over the measured window. CPU is
the server process's user+system time: for ours the webhook *and* its sender (a task in the
same process). Ours runs the **default configuration**: limits on (1/s per chat, 20/min per
group, a global rate of ``--global-rate``, high enough not to be the bottleneck), chats drawn
from a Zipf population so they repeat (updates.lua). After the rounds, ours alone: a paced
pass with a Bot API taking 3 s per call (ack latency must not move), and 2x and 10x overload
of a global limit of ``--overload-limit``/s (goodput as a share of the limit). A sampler
counts sessions ``idle in transaction`` for more than 100 ms during the whole run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-0123456789"
TOKEN = "123456:bench-token"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its live descendants (granian runs workers)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True
    ).stdout.split()
    return own + sum(cpu_seconds(int(c)) for c in children if Path(f"/proc/{c}").exists())


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError("server did not open its port")


LOAD_CORE: int | None = 0 if (os.cpu_count() or 1) >= 2 else None


def pin_tree(pid: int, core: int | None) -> None:
    """Pin a process and its children (postgres forks new backends from the postmaster)."""
    if core is None or not shutil.which("taskset"):
        return
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True
    ).stdout.split()
    for target in [str(pid), *children]:
        subprocess.run(
            ["taskset", "-a", "-p", "-c", str(core), target], capture_output=True, check=False
        )


def pin(core: int | None) -> list[str]:
    return ["taskset", "-c", str(core)] if core is not None and shutil.which("taskset") else []


@contextlib.contextmanager
def process(
    cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from pgserver.postgres_server import get_server

    server = get_server(workdir / "pg", cleanup_mode="stop")
    try:
        PG_PID.append(int((workdir / "pg" / "postmaster.pid").read_text().split()[0]))
        pin_tree(PG_PID[0], LOAD_CORE)
        yield server.get_uri()
    finally:
        server.cleanup()


@contextlib.contextmanager
def nginx_stub(workdir: Path) -> Iterator[str]:
    port = free_port()
    ndir = workdir / "nginx"
    ndir.mkdir()
    conf = (
        (HERE / "nginx.conf.template")
        .read_text()
        .replace("{dir}", str(ndir))
        .replace("{port}", str(port))
    )
    (ndir / "nginx.conf").write_text(conf)
    with process(
        [*pin(LOAD_CORE), "nginx", "-c", str(ndir / "nginx.conf"), "-p", str(ndir)],
        log=ndir / "out.log",
    ) as proc:
        wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"


@dataclass
class Server:
    """A server under test, started once and measured in every round."""

    name: str
    pid: int
    port: int
    count: Callable[[], int]  # handled updates so far
    histogram: Callable[[], Buckets] | None = None  # the bot's own latency histogram
    profile_to: Path | None = None  # py-spy output (ours only, an extra window)
    url: str = ""  # ours: its database


@dataclass
class Result:
    """One measured window of one server."""

    handled: int
    seconds: float
    cpu: float
    answered: int
    p50_ms: float
    p99_ms: float
    non2xx: int
    internal: str = ""
    pg_cpu: float = 0.0  # PostgreSQL's CPU over the window (ours only)

    @property
    def rate(self) -> float:
        return self.handled / self.seconds

    @property
    def per_core(self) -> float:
        return self.handled / self.cpu if self.cpu else 0.0

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu / self.handled if self.handled else float("inf")

    @property
    def pg_us_per_update(self) -> float:
        return 1e6 * self.pg_cpu / self.handled if self.handled else float("inf")


@dataclass
class Paced:
    """Latency and CPU at a fixed offered load below everyone's capacity."""

    rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_per_1000: float = 0.0
    p95_ms: float = 0.0
    non2xx: int = 0


#: The postmaster's pid when PostgreSQL is embedded (its backends are its children).
PG_PID: list[int] = []


def pg_cpu() -> float:
    return cpu_seconds(PG_PID[0]) if PG_PID else 0.0


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


#: First update_id of each wrk run: runs never share ids (nor chats: updates.lua).
_BASES = itertools.count(1, 10_000_000)


def run_wrk(
    port: int, seconds: float, connections: int, core: int | None, delay_ms: float = 0
) -> tuple[int, float, float, int, float]:
    env = {**os.environ, "BENCH_SECRET": SECRET, "BENCH_UPDATE_BASE": str(next(_BASES)),
           "BENCH_DELAY_MS": str(round(delay_ms))}  # fmt: skip
    cmd = [*pin(core), "wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "--timeout", "10s",
           "-s", str(HERE / "updates.lua"), f"http://127.0.0.1:{port}/telegram/webhook"]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    p50 = _ms(*re.match(r"([\d.]+)(\w+)", lat["50"]).groups())  # type: ignore[union-attr]
    p99 = _ms(*re.match(r"([\d.]+)(\w+)", lat["99"]).groups())  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p95 = re.search(r"p95_us (\d+)", out)
    return (requests, p50, p99, int(non2xx.group(1)) if non2xx else 0,
            int(p95.group(1)) / 1000 if p95 else float("nan"))  # fmt: skip


Buckets = list[tuple[float, float]]


def measure(server: Server, args: argparse.Namespace, *, profile: bool = False) -> Result:
    """A warm-up, then one measured window flat out at ``--connections``."""
    run_wrk(server.port, args.warmup, args.connections, args.wrk_core)
    profiler = None
    if profile and server.profile_to is not None:
        profiler = subprocess.Popen(
            ["py-spy", "record", "--format", "raw", "-o", str(server.profile_to), "--subprocesses",
             "-d", str(int(args.duration + 1)), "-r", "200", "-p", str(server.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    hist0 = server.histogram() if server.histogram else []
    before, cpu0, t0, pg0 = server.count(), cpu_seconds(server.pid), time.monotonic(), pg_cpu()
    requests, p50, p99, non2xx, _ = run_wrk(
        server.port, args.duration, args.connections, args.wrk_core
    )
    after, cpu1, t1, pg1 = server.count(), cpu_seconds(server.pid), time.monotonic(), pg_cpu()
    result = Result(after - before, t1 - t0, cpu1 - cpu0, requests, p50, p99, non2xx)
    result.pg_cpu = pg1 - pg0 if server.url else 0.0
    if server.histogram:
        window = [(le, n - n0) for (le, n), (_, n0) in zip(server.histogram(), hist0, strict=True)]
        result.internal = quantiles(window)
    if profiler is not None:
        profiler.wait(60)
    return result


def measure_paced(server: Server, args: argparse.Namespace) -> Paced:
    """Each connection waits connections/rate seconds (random) between requests."""
    return paced_at(server, args, args.paced_rate)


def paced_at(server: Server, args: argparse.Namespace, rate: float) -> Paced:
    delay_ms = 1000 * args.connections / rate
    before, cpu0, t0 = server.count(), cpu_seconds(server.pid), time.monotonic()
    _, p50, p99, non2xx, p95 = run_wrk(
        server.port, args.paced_seconds, args.connections, args.wrk_core, delay_ms
    )
    handled, cpu = server.count() - before, cpu_seconds(server.pid) - cpu0
    return Paced(handled / (time.monotonic() - t0), p50, p99,
                 1000 * cpu / handled if handled else float("inf"), p95, non2xx)  # fmt: skip


@contextlib.contextmanager
def start_ours(
    args: argparse.Namespace,
    db_url: str,
    api: str,
    workdir: Path,
    reply_via: str = "api",
    server: str = "uvicorn",
    label: str = "",
    extra: dict[str, str] | None = None,
) -> Iterator[Server]:
    """``python -m bot serve`` (or granian) on its own fresh database."""
    name = f"b_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        if not args.durable:
            # This shared machine's disk makes every fsync slow and erratic; a real database
            # server commits in about a millisecond. --durable keeps synchronous_commit on.
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = psycopg.conninfo.make_conninfo(db_url, dbname=name)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "BOT_ENV": "test", "BOT_TOKEN": TOKEN,
           "BOT_WEBHOOK_SECRET": SECRET, "BOT_API_BASE_URL": api, "BOT_PORT": str(port),
           "BOT_LOG_LEVEL": "WARNING", "BOT_RATE_GLOBAL_PER_S": str(args.global_rate),
           "BOT_MAX_IN_FLIGHT": "64", "BOT_REPLY_VIA": reply_via, **(extra or {})}  # fmt: skip
    subprocess.run([PY, "-m", "bot", "migrate"], env=env, check=True, capture_output=True)
    cmd = [PY, "-m", "bot", "serve"]
    if server == "granian":  # measured only (see bot/README.md); the bot serves on uvicorn
        cmd = [str(Path(PY).parent / "granian"), "--interface", "asgi", "--host", "127.0.0.1",
               "--port", str(port), "--loop", "uvloop", "--http", "1", "--workers", "1",
               "--runtime-mode", "st", "--no-ws", "--log-level", "warning", "--factory",
               "bot.web:serve_app"]  # fmt: skip
    label = label or (
        "ours (outbox + sender)" if reply_via == "api" else "ours, reply in webhook body"
    )
    if server != "uvicorn":
        label = f"ours on {server}" + (", webhook body" if reply_via == "webhook" else "")
    with process([*pin(args.server_core), *cmd], env, workdir / f"ours-{reply_via}-{server}.log") as proc:  # fmt: skip
        wait_port(port, proc)

        def count() -> int:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM outbox WHERE state IN ('sent', 'answered')"
                ).fetchone()
            return int(row[0]) if row else 0

        yield Server(label, proc.pid, port, count, lambda: histogram(port),
                     workdir / f"ours-{reply_via}-{server}-{name}.folded", url)  # fmt: skip


@contextlib.contextmanager
def slow_api(workdir: Path, delay_ms: int) -> Iterator[str]:
    """A Bot API stub taking ``delay_ms`` per sendMessage (slow_api.py, on the load core)."""
    port = free_port()
    cmd = [*pin(LOAD_CORE), PY, str(HERE / "slow_api.py"), str(port), str(delay_ms)]
    with process(cmd, dict(os.environ), workdir / "slow_api.log") as proc:
        wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"


class IdleInTransaction(threading.Thread):
    """Samples pg_stat_activity every 50 ms: sessions idle in transaction for > 100 ms."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.samples, self.worst, self.seen = url, threading.Event(), 0, 0, 0

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.05):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
                    " AND now() - state_change > interval '100 ms' AND datname LIKE 'b\\_%'"
                ).fetchone()
                n = int(row[0]) if row else 0
                self.samples += 1
                self.worst = max(self.worst, n)
                self.seen += n > 0


def open_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox WHERE state IN ('pending', 'leased', 'sending')"
        ).fetchone()
    return int(row[0]) if row else 0


def extras(args: argparse.Namespace, db_url: str, api: str, workdir: Path, ours: Server) -> list[str]:  # fmt: skip
    """The stalled-Bot-API and overload rows (ours only, each once, after the rounds)."""
    lines = []
    with contextlib.ExitStack() as stack:
        slow = stack.enter_context(slow_api(workdir, args.stall_ms))
        stalled = stack.enter_context(
            start_ours(args, db_url, slow, workdir, label="ours, Bot API stalled")
        )
        ptb_slow = stack.enter_context(
            start_ptb("uvicorn", "PTB + uvicorn, Bot API stalled", args, slow, workdir)
        )
        run_wrk(
            stalled.port,
            args.warmup,
            args.connections,
            args.wrk_core,
            1000 * args.connections / args.paced_rate,
        )
        normal = paced_at(ours, args, args.paced_rate)
        slow_run = paced_at(stalled, args, args.paced_rate)
        ptb_run = paced_at(ptb_slow, args, args.paced_rate)
        lines.append(
            f"Bot API taking {args.stall_ms} ms per call, paced at {args.paced_rate:.0f}/s offered "
            f"({args.paced_seconds:.0f} s each, in this order):"
        )
        for name, r in (
            ("ours, normal Bot API", normal),
            (stalled.name, slow_run),
            (ptb_slow.name, ptb_run),
        ):
            lines.append(
                f"  {name:<34} acked p50 {r.p50_ms:7.1f} ms  p95 {r.p95_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms"
                f"  work done {r.rate:6.0f}/s  non-2xx {r.non2xx}"
            )
        lines.append(
            f"  ack p95 stalled / normal: {slow_run.p95_ms / normal.p95_ms:.2f}x"
            f" (target <= 1.10); sends waiting in the outbox after the pass: {open_rows(stalled.url)}"
        )
        limit = args.overload_limit
        over = stack.enter_context(
            start_ours(
                args,
                db_url,
                api,
                workdir,
                label="ours, global limit",
                extra={"BOT_RATE_GLOBAL_PER_S": str(limit)},
            )
        )
        lines.append(
            f"overload of a global limit of {limit:.0f}/s (distinct Zipf chats, paced, {args.paced_seconds:.0f} s each):"
        )
        for factor in (2, 10):
            t0, sent0 = time.monotonic(), over.count()
            r = paced_at(over, args, factor * limit)
            rate = (over.count() - sent0) / (time.monotonic() - t0)
            lines.append(
                f"  {factor:>2}x ({factor * limit:.0f}/s offered): sent {rate:6.1f}/s = {100 * rate / limit:5.1f}% of the limit"
                f" (target >= 95%); acked p99 {r.p99_ms:.1f} ms, non-2xx {r.non2xx}"
            )
        backlog, t0 = open_rows(over.url), time.monotonic()
        while open_rows(over.url) and time.monotonic() - t0 < args.drain_s:
            time.sleep(1)
        left = open_rows(over.url)
        lines.append(
            f"  backlog {backlog} rows after the passes; {'drained' if not left else f'{left} left'} "
            f"after {time.monotonic() - t0:.0f} s (at the limit: {backlog / limit:.0f} s)"
        )
    return lines


def histogram(port: int) -> Buckets:
    """The bot's own receive-to-answer histogram for text updates (cumulative buckets)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sorted(
        (float("inf") if le == "+Inf" else float(le), float(n))
        for le, n in re.findall(
            r'tgbot_update_duration_seconds_bucket\{le="([^"]+)",update_type="text"\} (\S+)', text
        )
    )


def quantiles(buckets: Buckets) -> str:
    """p50/p99 upper bounds (bucket edges) of the measured window's histogram."""
    if not buckets or not buckets[-1][1]:
        return "n/a"
    total = buckets[-1][1]

    def q(share: float) -> str:
        bound = next(le for le, n in buckets if n >= share * total)
        return f"<= {bound * 1000:.0f} ms" if bound != float("inf") else "> 60 s"

    return f"p50 {q(0.5)}, p99 {q(0.99)}"


@contextlib.contextmanager
def start_ptb(mode: str, label: str, args: argparse.Namespace, api: str, workdir: Path) -> Iterator[Server]:  # fmt: skip
    """A PTB baseline from ptb_servers.py; it writes its handled count to a file."""
    port = free_port()
    countfile = workdir / f"{mode}.count"
    countfile.write_text("0")
    cmd = [*pin(args.server_core), PY, str(HERE / "ptb_servers.py"), mode, str(port), api, str(countfile)]  # fmt: skip
    with process(cmd, dict(os.environ), workdir / f"{mode}.log") as proc:
        try:
            wait_port(port, proc)
        except RuntimeError:
            print((workdir / f"{mode}.log").read_text()[-3000:], file=sys.stderr)
            raise

        def count() -> int:
            time.sleep(0.06)  # the server writes its count every 50 ms
            return int(countfile.read_text() or 0)

        yield Server(label, proc.pid, port, count)


def profile_summary(folded: Path) -> str:
    """Share of samples per package, from py-spy's collapsed stacks.

    Libraries we call count inclusively (with what they call); the server and the event loop,
    which are at the root of every stack, count by self time only.
    """
    inclusive = {"de_json / telegram": "telegram/", "psycopg": "psycopg", "reply HTTP (httpclient)": "bot/httpclient",
                 "prometheus_client": "prometheus_client"}  # fmt: skip
    self_only = {"bot's own code (self)": "(bot/", "uvicorn/httptools (self)": "uvicorn/",
                 "event loop, uvloop (self)": "asyncio/"}  # fmt: skip
    totals: Counter[str] = Counter()
    samples = 0
    for line in folded.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        samples += int(n)
        leaf = stack.rsplit(";", 1)[-1]
        for label, needle in inclusive.items():
            if needle in stack:
                totals[label] += int(n)
        for label, needle in self_only.items():
            if needle in leaf:
                totals[label] += int(n)
    groups = {**inclusive, **self_only}
    if not samples:
        return "  (no samples: py-spy may lack ptrace permission)"
    frames = (
        "Update.de_json",
        "Application.process_update",
        "Pipeline._process",
        "Pipeline.handle",
        "Repo.begin_and_claim",
        "Repo.commit",
        "FastHandler.parse",
        "BotApi.call",
        "AsyncConnectionPool.connection",
        "WebhookEndpoint.__call__",
        "Metrics",
        "orjson",
    )
    incl: Counter[str] = Counter()
    for line in folded.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            for frame in frames:
                if frame + " " in stack or frame + ";" in stack:
                    incl[frame] += int(n)
    by_frame = "\n".join(f"    {100 * incl[f] / samples:5.1f}%  {f}" for f in frames)
    leaves: Counter[str] = Counter()
    for line in folded.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            leaves[stack.rsplit(";", 1)[-1]] += int(n)
    top = "\n".join(
        f"    {100 * n / samples:5.1f}%  {frame[:110]}" for frame, n in leaves.most_common(12)
    )
    return "\n".join(f"  {label:<27} {100 * totals[label] / samples:5.1f}% of samples"
                     for label in groups) + "\n  inclusive by frame:\n" + by_frame + "\n  top self time:\n" + top  # fmt: skip


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def report(servers: list[Server], runs: dict[str, list[Result]], paced: dict[str, Paced]) -> None:
    print()
    print(f"{'server (median of rounds)':<34} {'handled/s':>10} {'per core':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU s/1k':>9}"
          f" {'answered':>9} {'non-2xx':>8} {'paced/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU s/1k':>9}")  # fmt: skip
    for s in servers:
        rs, p = runs[s.name], paced.get(s.name, Paced())
        print(f"{s.name:<34} {median([r.rate for r in rs]):>10.0f} {median([r.per_core for r in rs]):>9.0f}"
              f" {median([r.p50_ms for r in rs]):>7.1f} {median([r.p99_ms for r in rs]):>7.1f}"
              f" {median([r.cpu_per_1000 for r in rs]):>9.3f} {sum(r.answered for r in rs):>9} {sum(r.non2xx for r in rs):>8}"
              f" {p.rate:>8.0f} {p.p50_ms:>7.1f} {p.p99_ms:>7.1f} {p.cpu_per_1000:>9.3f}")  # fmt: skip
    print("p50/p99: wrk, flat out at --connections; paced/s, p50, p99, CPU s/1k: handled at the offered "
          "--paced-rate (random think time per connection), after the rounds")  # fmt: skip
    for s in servers:
        if s.url:
            pg = median([r.pg_us_per_update for r in runs[s.name]])
            print(
                f"  {s.name}: PostgreSQL CPU {pg:.0f} µs per handled update (median of rounds, all backends)"
            )
    print("\nhandled per core, ours / baseline, measured in the same round (median [min-max]):")
    ours = [s for s in servers if s.name.startswith("ours")]
    for o in ours:
        for b in (s for s in servers if not s.name.startswith("ours")):
            ratios = [
                x.per_core / y.per_core
                for x, y in zip(runs[o.name], runs[b.name], strict=True)
                if y.per_core
            ]
            if ratios:
                print(
                    f"  {o.name} / {b.name}: {median(ratios):.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]"
                )
            if paced.get(b.name) and paced.get(o.name) and paced[o.name].cpu_per_1000:
                share = paced[o.name].cpu_per_1000 / paced[b.name].cpu_per_1000
                print(f"    at the paced load, ours costs {share:.2f}x its CPU per update")
    for o in ours:
        inner = ", ".join(r.internal for r in runs[o.name])
        print(
            f"{o.name}: the bot's own receive-to-answer time per round (histogram bucket edges): {inner}"
        )
    print(
        "per core = handled updates per server CPU-second; the machine is shared, compare ratios."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="measured seconds per server and round (10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=3, help="warm-up seconds before each window (3)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds; each measures every server once (3)"
    )
    parser.add_argument(
        "--connections", type=int, default=40, help="wrk connections (40, Telegram's default)"
    )
    parser.add_argument(
        "--only",
        default="ours,ours-webhook,webhook,uvicorn",
        help="servers to run (comma-separated)",
    )
    parser.add_argument("--durable", action="store_true", help="keep synchronous_commit on")
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=400,
        help="offered updates/s of the paced pass (400; 0 = skip)",
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=10, help="length of the paced pass (10)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy ours in one extra, uncounted window"
    )
    parser.add_argument(
        "--global-rate",
        type=float,
        default=20000,
        help="ours' BOT_RATE_GLOBAL_PER_S in the rounds: on, not the bottleneck (20000)",
    )
    parser.add_argument(
        "--overload-limit",
        type=float,
        default=100,
        help="the global limit of the overload rows (100/s; offered 2x and 10x)",
    )
    parser.add_argument(
        "--stall-ms", type=int, default=3000, help="the stalled Bot API's delay (3000)"
    )
    parser.add_argument(
        "--drain-s", type=float, default=120, help="longest wait for the backlog to drain (120)"
    )
    parser.add_argument("--no-extras", action="store_true", help="skip the stall and overload rows")
    args = parser.parse_args(argv)  # fmt: skip
    if args.rounds < 1 or args.duration <= 0:
        parser.error("--rounds must be >= 1 and --duration > 0")
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            print(f"bench: {tool} is not installed", file=sys.stderr)
            return 2
    cores = os.cpu_count() or 1
    args.wrk_core, args.server_core = (0, 1) if cores >= 2 else (None, None)
    only = set(args.only.split(","))
    print(f"bench: {args.rounds} rounds x ({args.warmup}s warm-up + {args.duration}s) per server at {args.connections} connections; "
          f"core {args.wrk_core}: wrk + PostgreSQL + nginx Bot API stub; core {args.server_core}: the servers only "
          f"(this machine's other work runs on both); load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tgbench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        db_url = stack.enter_context(postgres(workdir))
        api = stack.enter_context(nginx_stub(workdir))
        starters: dict[str, Callable[[], AbstractContextManager[Server]]] = {
            "ours": lambda: start_ours(args, db_url, api, workdir),
            "ours-webhook": lambda: start_ours(args, db_url, api, workdir, "webhook"),
            "ours-granian": lambda: start_ours(args, db_url, api, workdir, "api", "granian"),
            "webhook": lambda: start_ptb("webhook", "PTB run_webhook (tornado, trivial)", args, api, workdir),
            "uvicorn": lambda: start_ptb("uvicorn", "PTB + uvicorn (send_message)", args, api, workdir),
        }  # fmt: skip
        if "ours-granian" in only and not (Path(PY).parent / "granian").exists():
            print("bench: ours-granian needs granian in the venv (uv pip install granian)")
            only.discard("ours-granian")
        # Every server is up for the whole run (idle ones cost no CPU), and each round measures
        # each of them once, so slow phases of this shared machine hit all of them alike.
        servers = [stack.enter_context(start()) for key, start in starters.items() if key in only]
        sampler = IdleInTransaction(db_url)
        sampler.start()
        runs: dict[str, list[Result]] = {s.name: [] for s in servers}
        for round_ in range(args.rounds):
            for s in servers:
                r = measure(s, args)
                runs[s.name].append(r)
                print(f"  round {round_ + 1}/{args.rounds} {s.name}: {r.handled} handled, "
                      f"{r.per_core:.0f} per CPU-s, p99 {r.p99_ms:.1f} ms", flush=True)  # fmt: skip
        paced = {}
        if args.paced_rate > 0 and args.paced_seconds > 0:
            paced = {s.name: measure_paced(s, args) for s in servers}
        for s in servers if args.profile else []:
            if s.profile_to is not None:  # an extra window: sampling slows the server down
                measure(s, args, profile=True)
        ours_main = next((x for x in servers if x.name.startswith("ours (outbox")), None)
        extra = (
            []
            if args.no_extras or ours_main is None
            else extras(args, db_url, api, workdir, ours_main)
        )
        sampler.stop.set()
        sampler.join(5)
        report(servers, runs, paced)
        print()
        for line in extra:
            print(line)
        print(
            f"sessions idle in transaction > 100 ms: at most {sampler.worst} at once, in {sampler.seen}"
            f" of {sampler.samples} samples every 50 ms over the whole run (target 0)"
        )
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        for s in servers if args.profile else []:
            if s.profile_to is not None and s.profile_to.exists():
                print(f"\nprofile of {s.name}, an extra window after the rounds (py-spy):")
                print(profile_summary(s.profile_to))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
