# ruff: noqa: T201, S603, S607, S105, D101, D102, D103, E501, TC003  (a benchmark script, not shipped)
"""Benchmark: our bot vs PTB's run_webhook vs PTB behind uvicorn, side by side, in one run.

    uv run --no-sync python bot/bench/bench_bot.py [--duration S] [--connections N] [--profile]

wrk (one thread, ``--connections`` keep-alive connections, pinned to core 0) posts realistic
text-message updates; each server is pinned to core 1. A local nginx answers the Bot API calls
(a fixed JSON, almost no CPU), and PostgreSQL is embedded (pgserver) unless DATABASE_URL is set;
both share core 0 with wrk, so the server's core runs only the server.
Only **handled** updates count (work finished: committed rows for ours, handler completions
for PTB), over the measured window. CPU is the server process's user+system time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
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
    import pgserver

    server = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
    try:
        pin_tree(int((workdir / "pg" / "postmaster.pid").read_text().split()[0]), LOAD_CORE)
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
class Result:
    name: str
    handled: int
    seconds: float
    cpu: float
    answered: int
    p50_ms: float
    p99_ms: float
    non2xx: int
    internal: str = ""
    paced_rate: float = 0.0
    paced_p50_ms: float = 0.0
    paced_p99_ms: float = 0.0
    paced_cpu_per_1000: float = 0.0

    @property
    def rate(self) -> float:
        return self.handled / self.seconds

    @property
    def per_core(self) -> float:
        return self.handled / self.cpu if self.cpu else 0.0

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu / self.handled if self.handled else float("inf")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    port: int, seconds: float, connections: int, base: int, core: int | None, delay_ms: float = 0
) -> tuple[int, float, float, int]:
    env = {**os.environ, "BENCH_SECRET": SECRET, "BENCH_UPDATE_BASE": str(base),
           "BENCH_DELAY_MS": str(round(delay_ms))}  # fmt: skip
    cmd = [*pin(core), "wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "--timeout", "10s",
           "-s", str(HERE / "updates.lua"), f"http://127.0.0.1:{port}/telegram/webhook"]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    p50 = _ms(*re.match(r"([\d.]+)(\w+)", lat["50"]).groups())  # type: ignore[union-attr]
    p99 = _ms(*re.match(r"([\d.]+)(\w+)", lat["99"]).groups())  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, p50, p99, int(non2xx.group(1)) if non2xx else 0


Buckets = list[tuple[float, float]]


def measure(
    name: str,
    pid: int,
    port: int,
    count: Callable[[], int],
    args: argparse.Namespace,
    base: int,
    histogram: Callable[[], Buckets] | None = None,
) -> Result:
    run_wrk(
        port, args.warmup, args.connections, base, args.wrk_core
    )  # warm-up (JIT-free, but caches, pools)
    hist0 = histogram() if histogram else []
    before, cpu0, t0 = count(), cpu_seconds(pid), time.monotonic()
    requests, p50, p99, non2xx = run_wrk(
        port, args.duration, args.connections, base + 10_000_000, args.wrk_core
    )
    after, cpu1, t1 = count(), cpu_seconds(pid), time.monotonic()
    result = Result(name, after - before, t1 - t0, cpu1 - cpu0, requests, p50, p99, non2xx)
    if histogram:
        window = [(le, n - n0) for (le, n), (_, n0) in zip(histogram(), hist0, strict=True)]
        result.internal = quantiles(window)
    if args.paced_rate > 0 and args.paced_seconds > 0:
        # Latency at a fixed offered load below everyone's capacity: each connection waits
        # connections/rate seconds between requests, so queueing does not dominate.
        delay_ms = 1000 * args.connections / args.paced_rate
        before, cpu0, t2 = count(), cpu_seconds(pid), time.monotonic()
        _, result.paced_p50_ms, result.paced_p99_ms, _ = run_wrk(
            port, args.paced_seconds, args.connections, base + 20_000_000, args.wrk_core, delay_ms
        )
        handled, cpu = count() - before, cpu_seconds(pid) - cpu0
        result.paced_rate = handled / (time.monotonic() - t2)
        result.paced_cpu_per_1000 = 1000 * cpu / handled if handled else float("inf")
    print(
        f"  {name}: {result.handled} handled, {requests} answered, {result.cpu:.1f} CPU s",
        flush=True,
    )
    return result


def bench_ours(
    args: argparse.Namespace,
    db_url: str,
    api: str,
    workdir: Path,
    reply_via: str = "api",
    server: str = "uvicorn",
) -> Result:
    name = f"b_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        if not args.durable:
            # This shared machine's disk makes every fsync slow and erratic; a real database
            # server commits in about a millisecond. --durable keeps synchronous_commit on.
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "BOT_ENV": "test", "BOT_TOKEN": TOKEN,
           "BOT_WEBHOOK_SECRET": SECRET, "BOT_API_BASE_URL": api, "BOT_PORT": str(port),
           "BOT_LOG_LEVEL": "WARNING", "BOT_RATE_GLOBAL_PER_S": "0", "BOT_MAX_IN_FLIGHT": "64",
           "BOT_REPLY_VIA": reply_via}  # fmt: skip
    subprocess.run([PY, "-m", "bot", "migrate"], env=env, check=True, capture_output=True)
    cmd = [PY, "-m", "bot", "serve"]
    if server == "granian":  # measured only (see bot/README.md); the bot serves on uvicorn
        cmd = [str(Path(PY).parent / "granian"), "--interface", "asgi", "--host", "127.0.0.1",
               "--port", str(port), "--loop", "uvloop", "--http", "1", "--workers", "1",
               "--runtime-mode", "st", "--no-ws", "--log-level", "warning", "--factory",
               "bot.web:serve_app"]  # fmt: skip
    with process([*pin(args.server_core), *cmd], env, workdir / f"ours-{server}.log") as proc:
        wait_port(port, proc)

        def count() -> int:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT count(*) FROM sent_replies").fetchone()
            return int(row[0]) if row else 0

        profiler = None
        if args.profile:
            profiler = subprocess.Popen(
                ["py-spy", "record", "--format", "raw", "-o", str(workdir / f"ours-{reply_via}-{server}.folded"), "--subprocesses",
                 "-d", str(int(args.warmup + args.duration + 2)), "-r", "200", "-p", str(proc.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        label = (
            "ours (bot, PostgreSQL + reply)"
            if reply_via == "api"
            else "ours, reply in webhook body"
        )
        if server != "uvicorn":
            label = f"ours on {server}" + (", webhook body" if reply_via == "webhook" else "")
        result = measure(label, proc.pid, port, count, args, 1, lambda: histogram(port))
        if profiler is not None:
            profiler.wait(60)
    return result


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


def bench_ptb(mode: str, label: str, args: argparse.Namespace, api: str, workdir: Path) -> Result:
    port = free_port()
    countfile = workdir / f"{mode}.count"
    countfile.write_text("0")
    cmd = [
        *pin(args.server_core),
        PY,
        str(HERE / "ptb_servers.py"),
        mode,
        str(port),
        api,
        str(countfile),
    ]
    with process(cmd, dict(os.environ), workdir / f"{mode}.log") as proc:
        try:
            wait_port(port, proc)
        except RuntimeError:
            print((workdir / f"{mode}.log").read_text()[-3000:], file=sys.stderr)
            raise

        def count() -> int:
            time.sleep(0.06)  # the server writes its count every 50 ms
            return int(countfile.read_text() or 0)

        return measure(label, proc.pid, port, count, args, 1)


def profile_summary(folded: Path) -> str:
    """Inclusive share of samples per package, from py-spy's collapsed stacks."""
    groups = {"de_json / telegram": "telegram/", "psycopg": "psycopg", "aiohttp (outgoing)": "aiohttp",
              "uvicorn/httptools": "uvicorn", "starlette": "starlette", "prometheus_client": "prometheus_client",
              "asyncio/uvloop": "asyncio", "bot (ours)": "/bot/"}  # fmt: skip
    totals: Counter[str] = Counter()
    samples = 0
    for line in folded.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        samples += int(n)
        for label, needle in groups.items():
            if needle in stack:
                totals[label] += int(n)
    if not samples:
        return "  (no samples: py-spy may lack ptrace permission)"
    frames = (
        "Update.de_json",
        "Application.process_update",
        "Pipeline._process",
        "Pipeline.handle",
        "Repo.begin_and_claim",
        "Repo.commit",
        "Repo.consume_text",
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
    return "\n".join(f"  {label:<22} {100 * totals[label] / samples:5.1f}% of samples (inclusive)"
                     for label in groups) + "\n  inclusive by frame:\n" + by_frame + "\n  top self time:\n" + top  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=15, help="measured seconds per server (15)"
    )
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per server (3)")
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
        help="offered updates/s of the paced latency pass (400; 0 = skip)",
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=10, help="length of the paced pass (10)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy our server during its run")
    args = parser.parse_args(argv)
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            print(f"bench: {tool} is not installed", file=sys.stderr)
            return 2
    cores = os.cpu_count() or 1
    args.wrk_core, args.server_core = (0, 1) if cores >= 2 else (None, None)
    only = set(args.only.split(","))
    print(f"bench: {args.connections} connections, {args.warmup}s warm-up + {args.duration}s per server; "
          f"core {args.wrk_core}: wrk + PostgreSQL + nginx Bot API stub; core {args.server_core}: the server only "
          f"(this machine's other work runs on both); load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="tgbench-") as tmp:
        workdir = Path(tmp)
        with postgres(workdir) as db_url, nginx_stub(workdir) as api:
            if "ours" in only:
                results.append(bench_ours(args, db_url, api, workdir))
            if "ours-webhook" in only:
                results.append(bench_ours(args, db_url, api, workdir, "webhook"))
            if "ours-granian" in only:
                if not (Path(PY).parent / "granian").exists():
                    print("bench: ours-granian needs granian in the venv (uv pip install granian)")
                else:
                    results.append(bench_ours(args, db_url, api, workdir, "api", "granian"))
            if "webhook" in only:
                results.append(
                    bench_ptb("webhook", "PTB run_webhook (tornado, trivial)", args, api, workdir)
                )
            if "uvicorn" in only:
                results.append(
                    bench_ptb("uvicorn", "PTB + uvicorn (send_message, httpx)", args, api, workdir)
                )
        print()
        print(
            f"{'server':<38} {'handled/s':>10} {'per core':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU s/1k':>9} {'answered':>9} {'non-2xx':>8}"
            f" {'paced/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU s/1k':>9}"
        )
        for r in results:
            print(f"{r.name:<38} {r.rate:>10.0f} {r.per_core:>9.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
                  f"{r.cpu_per_1000:>9.3f} {r.answered:>9} {r.non2xx:>8}"
                  f" {r.paced_rate:>8.0f} {r.paced_p50_ms:>7.1f} {r.paced_p99_ms:>7.1f} {r.paced_cpu_per_1000:>9.3f}")  # fmt: skip
        print("p50/p99: wrk, flat out at --connections; paced/s, p50, p99, CPU s/1k: handled at the offered "
              "--paced-rate (random think time per connection), after the measured window")  # fmt: skip
        by = {r.name.split()[0] + (" uv" if "uvicorn" in r.name else ""): r for r in results}
        for ours in (r for r in results if r.name.startswith("ours")):
            for r in results:
                if not r.name.startswith("ours") and r.per_core:
                    print(
                        f"{ours.name} / {r.name}: {ours.per_core / r.per_core:.2f}x handled per core"
                    )
        for r in results:
            if r.internal:
                print(f"{r.name}: bot-side receive-to-answer time in the measured window "
                      f"(its histogram, bucket edges): {r.internal}")  # fmt: skip
        print(
            "per core = handled updates per server CPU-second; the machine is shared, compare ratios."
        )
        for folded in sorted(workdir.glob("ours-*.folded")) if args.profile else []:
            print(f"\nprofile of {folded.stem} (py-spy):")
            print(profile_summary(folded))
        del by
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
