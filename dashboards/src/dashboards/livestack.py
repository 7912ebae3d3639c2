"""Start the real bot, the Bot API emulator, the load driver and Prometheus as local processes.

This is the environment the real-data proof runs in and ``make dashboards-preview`` renders
from: the bot (``python -m bot serve``) on a PostgreSQL database, answering through the Bot API
emulator (``python -m loadtest emulator``), driven by :class:`dashboards.driver.Driver`, and
scraped every second by Prometheus with our rules loaded. The bot and the emulator are started
by command line only (dashboards never imports them). Every process runs in its own process
group and is stopped when the context exits, also on errors.
"""

import importlib.util
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot_contract.webhook import METRICS_PATH, READYZ_PATH, WEBHOOK_PATH
from dashboards.driver import Driver
from dashboards.prometheus_server import free_port, prometheus, stop_group, wait_until_ready

#: A token of the Bot API's shape; the emulator accepts any.
BOT_TOKEN: Final = "123456789:tgscale-dashboards-local-token"  # noqa: S105 (local, fake)
#: The emulator's global budget sits below the bot's own fleet-wide limiter, so that a short run
#: also exercises the Bot API 429 path (flood control answers, the bot honours retry_after).
EMULATOR_ARGS: Final = ("--global-rate", "8")
#: The modules this stack starts with ``python -m``; each must be importable.
COMPONENTS: Final = {"bot.__main__": "the bot", "loadtest.emulator": "the Bot API emulator"}


def missing_components() -> list[str]:
    """Which of the bot and the emulator are not installed yet (empty when both are)."""
    missing = []
    for module, what in COMPONENTS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(f"{what} (`python -m {module.removesuffix('.__main__')}`)")
    return missing


@dataclass(frozen=True)
class Stack:
    """Addresses of the running processes, and the driver bound to the webhook."""

    bot_url: str
    emulator_url: str
    prometheus_url: str
    database_url: str
    driver: Driver


@contextmanager
def _process(
    name: str, argv: list[str], env: dict[str, str], workdir: Path, ready_url: str | None
) -> Iterator[subprocess.Popen[bytes]]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        if ready_url:
            wait_until_ready(ready_url, process, log, timeout=90)
        yield process
    finally:
        stop_group(process)


def _run(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=120, check=False
        )
    if result.returncode:
        raise RuntimeError(f"{' '.join(argv[1:])} failed: {log.read_text(errors='replace')}")


@contextmanager
def live_stack(
    database_url: str,
    workdir: Path,
    *,
    workers: int = 2,
    max_in_flight: int = 8,
    emulator_args: tuple[str, ...] = EMULATOR_ARGS,
    progress: Callable[[str], None] = lambda _: None,
) -> Iterator[Stack]:
    """Run the bot, the emulator, the driver's exporter and Prometheus until the block ends.

    Args:
        database_url: An empty (or already migrated) PostgreSQL database for the bot.
        workdir: Where logs, the Prometheus config and its TSDB go.
        workers: The bot's uvicorn workers (multiprocess metrics when above one).
        max_in_flight: The bot's per-process cap; a small one makes the shed path visible.
        emulator_args: Extra options of ``python -m loadtest emulator`` (flood control, faults).
        progress: Called with one line per step.

    Raises:
        RuntimeError: a component is not installed or did not start (its log is quoted).
    """
    missing = missing_components()
    if missing:
        raise RuntimeError(f"not installed yet: {', '.join(missing)}")
    workdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(24)
    emulator_port, bot_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    bot_url = f"http://127.0.0.1:{bot_port}"
    env = {
        **os.environ,
        "BOT_TOKEN": BOT_TOKEN,
        "BOT_WEBHOOK_SECRET": secret,
        "DATABASE_URL": database_url,
        "BOT_API_BASE_URL": emulator_url,
        "BOT_HOST": "127.0.0.1",
        "BOT_PORT": str(bot_port),
        "BOT_ENV": "dev",
        "BOT_MAX_IN_FLIGHT": str(max_in_flight),
    }
    python = sys.executable
    with ExitStack() as stack:
        progress(f"starting the Bot API emulator on {emulator_url}")
        emulator = [python, "-m", "loadtest", "emulator", "--host", "127.0.0.1"]
        emulator += ["--port", str(emulator_port), *emulator_args]
        stack.enter_context(
            _process(
                "emulator",
                emulator,
                env,
                workdir,
                f"{emulator_url}/__emulator/stats",
            )
        )
        progress("migrating the database")
        _run("migrate", [python, "-m", "bot", "migrate"], env, workdir)
        progress(f"starting the bot ({workers} workers) on {bot_url}")
        stack.enter_context(
            _process(
                "bot",
                [python, "-m", "bot", "serve", "--workers", str(workers)],
                env,
                workdir,
                f"{bot_url}{READYZ_PATH}",
            )
        )
        driver = Driver(f"{bot_url}{WEBHOOK_PATH}", secret)
        driver_port = driver.metrics.serve()
        targets = {
            "tgbot": f"127.0.0.1:{bot_port}",
            "tgemu": f"127.0.0.1:{emulator_port}",
            "tgload": f"127.0.0.1:{driver_port}",
        }
        progress(f"starting Prometheus (scraping {METRICS_PATH} of {', '.join(targets)})")
        prometheus_url = stack.enter_context(prometheus(targets, workdir / "prometheus"))
        progress(f"Prometheus at {prometheus_url}")
        yield Stack(bot_url, emulator_url, prometheus_url, database_url, driver)
