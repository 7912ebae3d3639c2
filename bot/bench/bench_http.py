# ruff: noqa: T201, D103  (a benchmark script, not shipped)
"""Outgoing-reply HTTP clients, side by side: CPU per Bot API call, in one run.

    uv run --no-sync python bot/bench/bench_http.py [--requests N] [--concurrency C]

Each client posts the same ``sendMessage`` JSON ``--requests`` times, ``--concurrency`` at a
time, to a local nginx answering a fixed Bot API result (nginx pinned to core 0, this process
to core 1). It prints the client's CPU microseconds per call (this process's user+system
time), which is what a reply costs the bot. Clients: ``bot.httpclient.HttpPool`` (ours, on
httptools), aiohttp with a keep-alive connector sized to the concurrency, and httpx (PTB's
default transport) with the same pool size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bot import LOAD_CORE, nginx_stub

from bot.httpclient import HttpPool

BODY = orjson.dumps(
    {
        "chat_id": 123456789,
        "text": "Got it (11 characters).",
        "reply_parameters": {"message_id": 42},
    }
)
PATH = "/bot123456:bench-token/sendMessage"

Post = Callable[[], Awaitable[bytes]]


async def run(post: Post, requests: int, concurrency: int) -> float:
    """CPU microseconds per call over ``requests`` calls (after a warm-up)."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            answer = await post()
            if b'"ok":true' not in answer:
                raise RuntimeError(f"unexpected answer {answer[:100]!r}")

    for _ in range(concurrency):  # warm-up: open the connections
        await post()
    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return 1e6 * (time.process_time() - cpu0) / requests


async def bench(api: str, requests: int, concurrency: int) -> dict[str, float]:
    results: dict[str, float] = {}
    pool = HttpPool(api, limit=concurrency, timeout_s=10)
    results["HttpPool (bot.httpclient, httptools)"] = await run(
        lambda: _ours(pool), requests, concurrency
    )
    await pool.close()

    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=30, ttl_dns_cache=300)
    async with aiohttp.ClientSession(
        base_url=api, connector=connector, skip_auto_headers=("User-Agent",)
    ) as session:

        async def aio() -> bytes:
            async with session.post(
                PATH, data=BODY, headers={"Content-Type": "application/json"}
            ) as resp:
                return await resp.read()

        results["aiohttp (tuned TCPConnector)"] = await run(aio, requests, concurrency)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=api, limits=limits) as client:

        async def hx() -> bytes:
            resp = await client.post(
                PATH, content=BODY, headers={"Content-Type": "application/json"}
            )
            return resp.content

        results["httpx (PTB's default transport)"] = await run(hx, requests, concurrency)
    return results


async def _ours(pool: HttpPool) -> bytes:
    _, body, _ = await pool.post(PATH, BODY)
    return body


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=40)
    args = parser.parse_args()
    if not shutil.which("nginx"):
        print("bench: nginx is not installed", file=sys.stderr)
        return 2
    if LOAD_CORE is not None:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="tghttp-") as tmp, nginx_stub(Path(tmp)) as api:
        results = uvloop.run(bench(api, args.requests, args.concurrency))
    print(f"{args.requests} sendMessage calls, {args.concurrency} at a time, uvloop, "
          f"load average {os.getloadavg()[0]:.2f} (shared machine: compare ratios)")  # fmt: skip
    best = min(results.values())
    for name, us in results.items():
        print(f"  {name:<38} {us:7.1f} CPU µs/call  ({us / best:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
