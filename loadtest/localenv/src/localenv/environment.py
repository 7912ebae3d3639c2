"""The whole system as local processes: what ``make demo`` and ``make capacity`` run against.

:func:`local_environment` starts, on free loopback ports, PostgreSQL (embedded through the
``pgserver`` wheel, or ``DATABASE_URL`` when set), the bot's migrations, ``python -m bot serve
--workers N``, the Bot API emulator (``python -m botapi_emulator``, unless a Bot API URL is
given), and Prometheus when its binary is on PATH (scraping the bot, the emulator and the Locust
process, and evaluating the rule files given, e.g. the dashboards' recording rules and alerts).
It then registers the webhook through ``python -m bot set-webhook``, as a production deploy job
would. Readiness waits are bounded and their errors quote the failing process's log. Each
process logs to ``<report_dir>/logs/<name>.log``. On leaving the ``with`` block (normally, on an
exception, on Ctrl-C or SIGTERM) every process group is stopped; a process that dies on its own
aborts the run with a message naming it.

Run it alone to get an environment to poke at: ``python -m localenv up --workers 2``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot_contract.webhook import METRICS_PATH, READYZ_PATH, WEBHOOK_PATH
from localenv.postgres import start_postgres
from localenv.process import (
    LocalEnvError,
    ProcessSpec,
    Supervisor,
    http_ok,
)
from localenv.prometheus import (
    INSTALL_HINT,
    SCRAPE_INTERVAL_S,
    check_rule_files,
    find_prometheus,
    prometheus_spec,
    targets_discovered,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

__all__ = ["LocalEnv", "LocalEnvError", "local_environment"]

_HOST = "127.0.0.1"
_PORT_ATTEMPTS = 3
_EMULATOR_STATS_PATH = "/__emulator/stats"
_ROOT_PREFIX = "tgscale-"
_OWNER_FILE = "owner.pid"


@dataclass(frozen=True, kw_only=True)
class LocalEnv:
    """A running local environment: where everything listens and how to reach it.

    Attributes:
        webhook_url: The bot's webhook (what Telegram, here Locust, posts updates to).
        secret: The webhook secret token the bot expects in ``X-Telegram-Bot-Api-Secret-Token``.
        bot_token: The bot token (a random one; the emulator accepts any).
        bot_url: The bot's root URL (``/healthz``, ``/readyz``, ``/metrics``).
        bot_metrics_url: The bot's ``/metrics`` (all workers, multiprocess mode).
        emulator_url: The Bot API emulator's root (``/bot<token>/<method>``, ``/__emulator/*``),
            or ``None`` when the bot talks to the Bot API at ``bot_api_url`` instead.
        bot_api_url: The Bot API the bot calls (the emulator's root unless one was given).
        database_url: The PostgreSQL URL the bot uses (a Unix socket for the embedded server).
        prometheus_url: Prometheus's root URL, or ``None`` when it is not running.
        prometheus_note: Why there is no Prometheus (for "not applicable" gate verdicts).
        locust_metrics_port: The port Prometheus scrapes for ``tgload_*``; give it to Locust's
            ``--prometheus-port``.
        scrape_interval_s: Prometheus's scrape interval (choose ``rate`` windows of 4x or more).
        workers: How many bot worker processes serve the webhook port.
        log_dir: Where each process writes ``<name>.log``.
        pids: The supervised processes' pids (each is also its process group id) by name.
    """

    webhook_url: str
    secret: str = field(repr=False)
    bot_token: str = field(repr=False)
    bot_url: str
    bot_metrics_url: str
    emulator_url: str | None
    bot_api_url: str
    database_url: str
    prometheus_url: str | None
    prometheus_note: str | None
    locust_metrics_port: int
    scrape_interval_s: float
    workers: int
    log_dir: Path
    pids: Mapping[str, int]
    _supervisor: Supervisor = field(repr=False, compare=False)

    def failure(self) -> str | None:
        """The message for a process that died on its own, or ``None`` while all run."""
        crash = self._supervisor.crash
        if crash is not None:
            return crash
        for process in self._supervisor.processes:
            if not process.stopping and process.popen.poll() is not None:
                return process.describe_exit()
        return None

    def check(self) -> None:
        """Raise :class:`LocalEnvError` if a process of the environment has died."""
        message = self.failure()
        if message is not None:
            raise LocalEnvError(message)

    def describe(self) -> str:
        """The URLs and files a user needs, one per line (no secrets)."""
        rows = [
            ("webhook", self.webhook_url),
            ("bot", f"{self.bot_url}  ({self.workers} workers; /readyz /metrics)"),
            ("emulator", f"{self.emulator_url}  (/__emulator/stats)" if self.emulator_url else "-"),
            ("bot api", self.bot_api_url),
            ("prometheus", self.prometheus_url or f"not running: {self.prometheus_note}"),
            ("database", self.database_url),
            ("logs", str(self.log_dir)),
        ]
        return "\n".join(f"  {name:<11}{value}" for name, value in rows)

    def to_json(self) -> dict[str, object]:
        """Every part's URL or DSN, the secrets included (``environment.json``, mode 0600)."""
        return {
            "webhook_url": self.webhook_url,
            "webhook_secret": self.secret,
            "bot_token": self.bot_token,
            "bot_url": self.bot_url,
            "bot_metrics_url": self.bot_metrics_url,
            "workers": self.workers,
            "emulator_url": self.emulator_url,
            "bot_api_url": self.bot_api_url,
            "prometheus_url": self.prometheus_url,
            "prometheus_note": self.prometheus_note,
            "database_url": self.database_url,
            "locust_metrics_port": self.locust_metrics_port,
            "log_dir": str(self.log_dir),
            "pids": dict(self.pids),
        }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's ephemeral choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _say(message: str) -> None:
    sys.stderr.write(f"localenv: {message}\n")
    sys.stderr.flush()


def _interrupt_main(message: str) -> None:
    """Default crash handler: say what died, then interrupt the main thread like Ctrl-C."""
    _say(f"ABORTING: {message}")
    os.kill(os.getpid(), signal.SIGINT)


class _HttpServer:
    """An HTTP server child started on a free port now and waited for later.

    Starting early and waiting late lets slow starts overlap. A port taken between choosing and
    binding it (other tests run concurrently) is retried on a new port in :meth:`wait`; any
    other failure is raised at once.
    """

    def __init__(
        self, supervisor: Supervisor, build: Callable[[int], ProcessSpec], path: str
    ) -> None:
        self._supervisor, self._build, self._path = supervisor, build, path
        self.port = free_port()
        self.process = supervisor.start(build(self.port))

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://{_HOST}:{self.port}"

    def wait(self, *, timeout_s: float) -> float:
        """Wait until ``GET path`` answers 2xx; return the seconds waited."""
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            probe = functools.partial(http_ok, f"{self.url}{self._path}")
            try:
                return self._supervisor.wait_ready(
                    self.process, probe, timeout_s=timeout_s, what=f"GET {self._path} 2xx"
                )
            except LocalEnvError as error:
                if attempt == _PORT_ATTEMPTS or "address already in use" not in str(error).lower():
                    raise
                self.process.stopping = True
                _say(f"{self.process.spec.name}: port {self.port} was taken, retrying")
                self.port = free_port()
                self.process = self._supervisor.start(self._build(self.port))
        raise AssertionError("unreachable")  # pragma: no cover


def _begin_prometheus(
    supervisor: Supervisor,
    wanted: bool | None,
    root: Path,
    targets: Mapping[str, str],
    rule_files: Sequence[Path] = (),
) -> tuple[_HttpServer | None, str | None]:
    """Start Prometheus if wanted and installed; else say why not (the gates quote it)."""
    if wanted is False:
        return None, "Prometheus disabled for this run"
    binary = find_prometheus()
    if binary is None:
        note = "prometheus is not on PATH"
        if wanted:
            raise LocalEnvError(f"{note}; {INSTALL_HINT}")
        _say(f"{note}: Prometheus gates report 'not applicable'; {INSTALL_HINT}")
        return None, note
    server = _HttpServer(
        supervisor,
        lambda port: prometheus_spec(binary, root, port, targets, rule_files),
        "/-/ready",
    )
    return server, None


def _finish_prometheus(
    supervisor: Supervisor, server: _HttpServer, targets: Mapping[str, str], timeout_s: float
) -> str:
    """Wait until Prometheus is ready and knows every target; return its URL."""
    took = server.wait(timeout_s=timeout_s)
    took += supervisor.wait_ready(
        server.process,
        functools.partial(targets_discovered, server.url, targets),
        timeout_s=timeout_s,
        what="its scrape targets discovered",
    )
    _say(f"prometheus ready in {took:.1f} s at {server.url}")
    return server.url


def _wants_prometheus(prometheus: bool | None, rule_files: Sequence[Path]) -> bool | None:
    """Rule files make Prometheus required (a run asking for them must not go without)."""
    if not rule_files:
        return prometheus
    if prometheus is False:
        raise ValueError("rule files need Prometheus, but it is disabled")
    check_rule_files(rule_files)
    return True


def _child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit(143)`` so ``finally`` blocks (the teardown) run."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    installed = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )
    if installed:
        signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def local_environment(
    *,
    workers: int = 2,
    prometheus: bool | None = None,
    keep: bool = False,
    bot_env: Mapping[str, str] | None = None,
    report_dir: Path | None = None,
    max_connections: int | None = None,
    emulator_args: Sequence[str] = (),
    bot_api_url: str | None = None,
    rule_files: Sequence[Path] = (),
    startup_timeout_s: float = 120.0,
    on_crash: Callable[[str], None] | None = None,
) -> Iterator[LocalEnv]:
    """Start the whole system as local processes; stop all of it when the block ends.

    Args:
        workers: Bot worker processes behind the one webhook port.
        prometheus: ``None`` starts Prometheus when its binary is on PATH (one line says so when
            not); ``True`` requires it; ``False`` never starts it.
        keep: After the block ends normally, print the URLs and keep everything running until
            Ctrl-C or SIGTERM.
        bot_env: Extra environment for the bot processes (e.g. ``BOT_MAX_IN_FLIGHT``,
            ``BOT_TEST_HANDLER_DELAY_MS``); it overrides the generated values.
        report_dir: Where ``logs/<name>.log`` go (default: a new ``tgscale-logs-*`` temp dir).
        max_connections: Passed to ``set-webhook --max-connections`` (default: the bot's).
        emulator_args: Extra emulator options (e.g. ``("--no-flood-control",)``).
        bot_api_url: Point the bot at this Bot API (e.g. a local ``telegram-bot-api`` server)
            instead of starting the emulator.
        rule_files: Prometheus rule files to evaluate (e.g. the dashboards package's
            ``dashboards/build/rules/tgscale.rules.yaml``); giving any requires Prometheus.
        startup_timeout_s: Bound on each readiness wait and each one-shot command.
        on_crash: Called once with a message when a process dies on its own; the default
            prints it and interrupts the main thread (``KeyboardInterrupt``), which this
            context manager turns into :class:`LocalEnvError`.

    Yields:
        The running environment.

    Raises:
        LocalEnvError: A process failed to start, did not get ready in time, or died.
        ValueError: ``workers`` below 1, or rule files with ``prometheus=False``.
        FileNotFoundError: A rule file does not exist.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    prometheus = _wants_prometheus(prometheus, rule_files)
    started = time.monotonic()
    sweep_stale_roots()
    root = Path(tempfile.mkdtemp(prefix=_ROOT_PREFIX))
    (root / _OWNER_FILE).write_text(str(os.getpid()))
    root.chmod(0o755)  # PostgreSQL may run as another user and must reach its socket dir
    log_dir = (report_dir or Path(tempfile.mkdtemp(prefix="tgscale-logs-"))) / "logs"
    supervisor = Supervisor(log_dir)
    atexit.register(supervisor.stop_all)
    python = sys.executable
    try:
        with _sigterm_as_exit():
            # 1. The emulator and PostgreSQL (initdb is the slow part) start side by side.
            emulator = None
            if bot_api_url is None:
                emulator_argv = [python, "-m", "botapi_emulator", "--host", _HOST]
                emulator = _HttpServer(
                    supervisor,
                    lambda port: ProcessSpec(
                        "emulator",
                        [*emulator_argv, "--port", str(port), *emulator_args],
                        env=_child_env({}),
                        stop_timeout_s=10,
                    ),
                    _EMULATOR_STATS_PATH,
                )
            bot_extra = dict(bot_env or {})
            database_url = bot_extra.get("DATABASE_URL") or os.environ.get("DATABASE_URL")
            postgres = None
            if database_url:
                _say("using DATABASE_URL (no embedded PostgreSQL)")
            else:
                postgres, database_url, pg_ready = start_postgres(
                    supervisor, root, timeout_s=startup_timeout_s
                )
            if emulator is not None:
                took = emulator.wait(timeout_s=startup_timeout_s)
                _say(f"emulator ready in {took:.1f} s at {emulator.url}")
            else:
                _say(f"using the Bot API at {bot_api_url} (no emulator)")
            api_url = emulator.url if emulator is not None else str(bot_api_url)
            if postgres is not None:
                supervisor.wait_ready(
                    postgres, pg_ready, timeout_s=startup_timeout_s, what="pg_isready"
                )
                _say(f"postgres (embedded) ready after {time.monotonic() - started:.1f} s")

            # 2. Migrations, then the bot workers.
            secret = secrets.token_urlsafe(32)
            token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)}"
            (root / "bot-metrics").mkdir()
            bot_vars = {
                "BOT_TOKEN": token,
                "BOT_WEBHOOK_SECRET": secret,
                "DATABASE_URL": database_url,
                "BOT_API_BASE_URL": api_url,
                "BOT_HOST": _HOST,
                "BOT_ENV": "dev",
                **bot_extra,
            }
            # Only the server gets the multiprocess metrics dir: a one-shot command (migrate,
            # set-webhook) that wrote its files there would stay "live" after exiting, and its
            # tgbot_ready 0 would pin the workers' merged minimum to 0.
            serve_vars = {"PROMETHEUS_MULTIPROC_DIR": str(root / "bot-metrics"), **bot_vars}
            took = supervisor.run_once(
                ProcessSpec("migrate", [python, "-m", "bot", "migrate"], env=_child_env(bot_vars)),
                timeout_s=startup_timeout_s,
            )
            _say(f"migrations applied in {took:.1f} s")
            bot = _HttpServer(
                supervisor,
                lambda port: ProcessSpec(
                    "bot",
                    [python, "-m", "bot", "serve", "--workers", str(workers)],
                    env=_child_env({**serve_vars, "BOT_PORT": str(port)}),
                    stop_timeout_s=30,  # graceful drain: readiness off, in-flight finish
                ),
                READYZ_PATH,
            )
            took = bot.wait(timeout_s=startup_timeout_s)
            webhook_url = f"{bot.url}{bot_vars.get('BOT_WEBHOOK_PATH', WEBHOOK_PATH)}"
            _say(f"bot ready in {took:.1f} s at {bot.url} ({workers} workers)")

            # 3. Prometheus (optional) starts while set-webhook registers the webhook.
            locust_port = free_port()
            targets = {"bot": f"{_HOST}:{bot.port}", "locust": f"{_HOST}:{locust_port}"}
            if emulator is not None:
                targets["emulator"] = f"{_HOST}:{emulator.port}"
            prom, note = _begin_prometheus(supervisor, prometheus, root, targets, rule_files)
            set_webhook = [python, "-m", "bot", "set-webhook", "--url", webhook_url]
            if max_connections is not None:
                set_webhook += ["--max-connections", str(max_connections)]
            took = supervisor.run_once(
                ProcessSpec("set-webhook", set_webhook, env=_child_env(bot_vars)),
                timeout_s=startup_timeout_s,
            )
            _say(f"webhook registered with the Bot API in {took:.1f} s")
            prometheus_url = None
            if prom is not None:
                prometheus_url = _finish_prometheus(supervisor, prom, targets, startup_timeout_s)
            env = LocalEnv(
                webhook_url=webhook_url,
                secret=secret,
                bot_token=token,
                bot_url=bot.url,
                bot_metrics_url=f"{bot.url}{METRICS_PATH}",
                emulator_url=emulator.url if emulator is not None else None,
                bot_api_url=api_url,
                database_url=database_url,
                prometheus_url=prometheus_url,
                prometheus_note=note,
                locust_metrics_port=locust_port,
                scrape_interval_s=float(SCRAPE_INTERVAL_S),
                workers=workers,
                log_dir=log_dir,
                pids={p.spec.name: p.pid for p in supervisor.processes if not p.stopping},
                _supervisor=supervisor,
            )
            env.check()
            _say(f"environment up in {time.monotonic() - started:.1f} s (logs in {log_dir})")
            supervisor.start_watchdog(on_crash or _interrupt_main)
            try:
                yield env
            except KeyboardInterrupt:
                if supervisor.crash is not None:
                    raise LocalEnvError(supervisor.crash) from None
                raise
            env.check()
            if keep:
                _hold(env)
    finally:
        _say("stopping the environment")
        supervisor.stop_all()
        atexit.unregister(supervisor.stop_all)
        _remove(root)


def sweep_stale_roots(tmp: Path | None = None) -> list[Path]:
    """Remove temporary directories of environments whose process died without cleaning up.

    Only a ``kill -9`` of the run leaves one (its children stop through the parent-death
    signal, but nothing can delete files for it); each holds the owner's pid.
    """
    removed = []
    for root in Path(tmp or tempfile.gettempdir()).glob(f"{_ROOT_PREFIX}*"):
        try:
            owner = int((root / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if owner != os.getpid() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(root, ignore_errors=True)
            removed.append(root)
    return removed


def _remove(root: Path) -> None:
    """Delete the environment's temporary directory (data, sockets, config), bounded retries.

    A process that exits during the first pass may still drop a file (the bot's multiprocess
    metrics files are removed by each worker on exit), so try again briefly.
    """
    for _ in range(5):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.2)
    _say(f"could not remove {root} completely")


def _hold(env: LocalEnv) -> None:
    """Keep the environment up (``--keep``) until Ctrl-C, SIGTERM or a crash."""
    _say(f"kept up (--keep); Ctrl-C stops it:\n{env.describe()}")
    with contextlib.suppress(KeyboardInterrupt):
        while env.failure() is None:
            time.sleep(1.0)
    env.check()  # a crash (not Ctrl-C) ended the wait: say which process died
