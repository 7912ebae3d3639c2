"""``python -m localenv bench-loadgen``: updates/s of one generator core, our model vs plain Locust.

Starts nginx (Debian's, on a free 127.0.0.1 port with a temp config answering ``200``) as the
fast local target, then runs Locust headless, pinned to one core (``taskset``) while nginx has
the other, alternately with (a) plain ``FastHttpUser`` posting one fixed Update body and (b)
the tgscale telegram delivery model (a generated Update per request, per-chat FIFOs,
retries, lag accounting). Throughput is read from nginx's ``stub_status`` request counter over
a window after warm-up, so both are measured the same way, at the target. The machine is
shared and noisy: compare the ratio, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from bot_contract import traffic
from localenv.environment import free_port
from localenv.paths import LOCUSTFILE
from localenv.process import stop_group

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

TARGET_RATIO = 0.8
_PLAIN_LOCUSTFILE = """
from locust import FastHttpUser, constant, task

BODY = {body!r}
HEADERS = {{"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "bench"}}


class PlainUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def post(self):
        self.client.post("/telegram/webhook", data=BODY, headers=HEADERS, name="plain")
"""
# The same traffic model with a flat, large population: the backlog spreads over many chats, so
# the benchmark measures the generator's cost per request, not head-of-line blocking.
_BENCH_PROFILE = """
description = "loadtest bench: saturating arrivals over a flat population"
[shape]
kind = "steady"
rate = 100000.0
duration_s = {duration}
[delivery]
model = "telegram"
max_connections = {users}
max_pending = 4000
[population]
users = 20000
groups = 200
group_share = 0.2
zipf_s = 0.0
"""
_NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location = /nginx_status {{ stub_status; }}
        location / {{ return 200 "{{}}"; }}
    }}
}}
"""


def _pin(cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


@contextlib.contextmanager
def nginx(folder: Path, cpu: int | None) -> Iterator[str]:
    """nginx answering 200 on a free port; yields its base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(dir=folder, port=port))
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        [*_pin(cpu), binary, "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(50):
            with contextlib.suppress(OSError):
                _requests(url)
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"nginx did not start; see {folder / 'error.log'}")
        yield url
    finally:
        stop_group(process, timeout_s=10)


def _requests(url: str) -> int:
    """nginx's total request counter (stub_status, third number of its third line)."""
    with urllib.request.urlopen(f"{url}/nginx_status", timeout=5) as answer:  # noqa: S310
        lines = answer.read().decode().splitlines()
    return int(lines[2].split()[2])


def _cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time of a process and its children (taskset execs Locust in place)."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _measure(command: list[str], url: str, warmup_s: float, window_s: float) -> tuple[float, float]:
    """Run ``command`` (a Locust run); after warm-up count requests at the target.

    Returns requests per wall-clock second and requests per CPU-second of the generator: the
    second is what one core reaches when nothing else wants it (others share this machine).
    """
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    watched = psutil.Process(process.pid)
    try:
        time.sleep(warmup_s)
        first, start, cpu_first = _requests(url), time.monotonic(), _cpu_seconds(watched)
        time.sleep(window_s)
        last, end, cpu_last = _requests(url), time.monotonic(), _cpu_seconds(watched)
    finally:
        stop_group(process, timeout_s=10)
    done = last - first - 2  # minus the two stub_status requests
    return done / (end - start), done / max(cpu_last - cpu_first, 1e-9)


def _sample_body() -> str:
    config = traffic.PopulationConfig(users=100, groups=0, group_share=0.0)
    gen = traffic.TrafficGenerator(
        traffic.Population(config),
        traffic.Mix.from_mapping({"text": 1}),
        traffic.UpdateIdAllocator(start=1),
    )
    return json.dumps(gen.next().update, separators=(",", ":"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print both figures and their ratio."""
    parser = argparse.ArgumentParser(prog="python -m localenv bench-loadgen", description=__doc__)
    parser.add_argument("--users", type=int, default=40, help="connections (max_connections)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per variant")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=6.0, help="seconds measured per round")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    args = parser.parse_args(argv)
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    generator_cpu, target_cpu = (0, 1) if pin else (None, None)
    run_s = args.warmup + args.window + 5
    with tempfile.TemporaryDirectory(prefix="tgscale-bench-") as tmp:
        folder = Path(tmp)
        plainfile = folder / "plain_locustfile.py"
        body = _sample_body()
        plainfile.write_text(_PLAIN_LOCUSTFILE.format(body=body))
        profile = folder / "bench.toml"
        profile.write_text(_BENCH_PROFILE.format(duration=run_s, users=args.users))
        common = [
            sys.executable,
            "-m",
            "locust",
            "--headless",
            "--only-summary",
            "--loglevel",
            "ERROR",
        ]
        with nginx(folder, target_cpu) as url:
            plain = [
                *_pin(generator_cpu),
                *common,
                "-f",
                str(plainfile),
                "-H",
                url,
                "-u",
                str(args.users),
                "-r",
                str(args.users),
                "-t",
                f"{run_s:.0f}s",
            ]
            ours = [
                *_pin(generator_cpu),
                *common,
                "-f",
                str(LOCUSTFILE),
                "-H",
                url,
                "--load-profile",
                str(profile),
                "--webhook-secret",
                "bench",
            ]
            figures: dict[str, list[float]] = {"plain FastHttpUser": [], "tgscale telegram": []}
            walls: dict[str, list[float]] = {"plain FastHttpUser": [], "tgscale telegram": []}
            sys.stdout.write(
                f"localenv bench-loadgen: {args.rounds} rounds x {args.window:.0f} s, {args.users} "
                f"connections, body {len(body)} bytes, nginx at {url}"
                f"{', generator on CPU 0, nginx on CPU 1' if pin else ''}\n"
            )
            for round_no in range(1, args.rounds + 1):
                for name, command in (("plain FastHttpUser", plain), ("tgscale telegram", ours)):
                    wall, per_core = _measure(command, url, args.warmup, args.window)
                    figures[name].append(per_core)
                    walls[name].append(wall)
                    sys.stdout.write(
                        f"  round {round_no}: {name:<20} {per_core:8.0f} req per CPU-second "
                        f"({wall:6.0f} req/s wall clock)\n"
                    )
                    sys.stdout.flush()
    plain_cpu, ours_cpu = figures["plain FastHttpUser"], figures["tgscale telegram"]
    med = statistics.median
    median_ratio = statistics.median(ours_cpu) / statistics.median(plain_cpu)
    best_ratio = max(ours_cpu) / max(plain_cpu)
    sys.stdout.write(
        "\nupdates/s per generator core = requests counted at nginx / generator CPU-seconds\n"
        "(a shared, noisy machine: noise only slows a run down, so the best round is the\n"
        "steadiest estimate; compare ratios, not absolute numbers)\n"
        f"                                    best   median  (median wall-clock req/s)\n"
        f"  plain FastHttpUser, fixed body : {max(plain_cpu):7.0f}  {med(plain_cpu):7.0f}"
        f"  ({statistics.median(walls['plain FastHttpUser']):.0f})\n"
        f"  tgscale telegram model         : {max(ours_cpu):7.0f}  {med(ours_cpu):7.0f}"
        f"  ({statistics.median(walls['tgscale telegram']):.0f})\n"
        f"  ratio                          : {best_ratio:7.1%}  {median_ratio:7.1%}"
        f"  (target >= {TARGET_RATIO:.0%} of plain: "
        f"{'met' if best_ratio >= TARGET_RATIO else 'NOT met'} on the best rounds)\n"
    )
    return 0
