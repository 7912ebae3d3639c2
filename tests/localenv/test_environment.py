"""The local environment's supervisor against stand-in bot and emulator processes.

The stand-ins (``standins/``) shadow ``python -m bot`` and ``python -m botapi_emulator`` in the
child processes through ``PYTHONPATH``, so start-up order, readiness, crash detection and
teardown are tested without the real bot; the embedded PostgreSQL and Prometheus are the real
ones.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from localenv.environment import LocalEnv, local_environment, sweep_stale_roots
from localenv.process import LocalEnvError, ProcessSpec, Supervisor
from tests.support.processes import interruptible

STANDINS = Path(__file__).parent / "standins"
NO_DB = "postgresql://postgres:@/postgres?host=/nonexistent"


@pytest.fixture
def standins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(STANDINS))
    for name in [n for n in os.environ if n.startswith("STANDIN_")]:
        monkeypatch.delenv(name)


def _ports(env: LocalEnv) -> list[int]:
    urls = [env.bot_url, env.emulator_url] + ([env.prometheus_url] if env.prometheus_url else [])
    return [int(urlsplit(url).port or 0) for url in urls]


def _tree(env: LocalEnv) -> list[psutil.Process]:
    procs = []
    for pid in env.pids.values():
        with_children = psutil.Process(pid)
        procs += [with_children, *with_children.children(recursive=True)]
    return procs


def _assert_all_gone(procs: list[psutil.Process], ports: list[int]) -> None:
    alive = [p for p in procs if _running(p)]
    assert alive == []
    for port in ports:
        with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
            sock.connect(("127.0.0.1", port))


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # it exited between the two questions
        return False


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback http)
        return int(response.status)


def _wait_for(predicate: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout_s} s")


@pytest.mark.usefixtures("standins")
def test_starts_everything_then_leaves_no_process_or_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with local_environment(workers=2, report_dir=tmp_path) as env:
        assert _get(env.bot_url + "/readyz") == 200
        assert _get(env.emulator_url + "/__emulator/stats") == 200
        assert env.database_url.startswith("postgresql://postgres:@/postgres?host=")
        assert env.webhook_url == env.bot_url + "/telegram/webhook"
        assert env.secret not in repr(env)
        assert env.bot_token not in repr(env)
        assert set(env.pids) >= {"postgres", "emulator", "bot"}
        procs, ports = _tree(env), _ports(env)
        # The stand-in bot forks one child per worker, as uvicorn does.
        assert len(psutil.Process(env.pids["bot"]).children()) == 2
        if env.prometheus_url is not None:
            api = env.prometheus_url + "/api/v1/targets"
            with urllib.request.urlopen(api) as response:  # noqa: S310 (loopback http)
                targets = json.load(response)["data"]["activeTargets"]
            jobs = {t["labels"]["job"]: t["scrapeUrl"] for t in targets}
            assert jobs == {
                "bot": env.bot_metrics_url,
                "emulator": env.emulator_url + "/metrics",
                "locust": f"http://127.0.0.1:{env.locust_metrics_port}/metrics",
            }
    _assert_all_gone(procs, ports)
    logs = {p.name for p in (tmp_path / "logs").iterdir()}
    assert {"postgres.log", "emulator.log", "bot.log", "migrate.log", "set-webhook.log"} <= logs
    # set-webhook reached the emulator (the stand-in logs each request it serves).
    assert "/setWebhook?url=" in (tmp_path / "logs" / "emulator.log").read_text()
    assert "migrate: ok" in (tmp_path / "logs" / "migrate.log").read_text()
    # One-shot commands must not leave "live" metric files (a stale tgbot_ready 0) behind.
    for one_shot in ("migrate.log", "set-webhook.log"):
        assert "metrics dir: unset" in (tmp_path / "logs" / one_shot).read_text()
    assert "metrics dir: /" in (tmp_path / "logs" / "bot.log").read_text()


@pytest.mark.usefixtures("standins")
def test_a_crashed_process_aborts_with_its_log(tmp_path: Path) -> None:
    crashes: list[str] = []
    seen: list[tuple[list[psutil.Process], list[int]]] = []

    def run() -> None:
        with local_environment(
            workers=1,
            prometheus=False,
            report_dir=tmp_path,
            bot_env={"DATABASE_URL": NO_DB, "STANDIN_CRASH_AFTER_S": "1"},
            on_crash=crashes.append,
        ) as env:
            seen.append((_tree(env), _ports(env)))
            _wait_for(lambda: bool(crashes))

    with pytest.raises(LocalEnvError, match="bot exited unexpectedly") as error:
        run()
    procs, ports = seen[0]
    assert "crashing on purpose" in str(error.value)
    assert "status 7" in crashes[0]
    _assert_all_gone(procs, ports)


@pytest.mark.usefixtures("standins")
def test_a_failing_migration_stops_what_was_started(tmp_path: Path) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with (
        pytest.raises(LocalEnvError, match=r"migrate failed \(exit 1\)") as error,
        local_environment(
            prometheus=False,
            report_dir=tmp_path,
            bot_env={"DATABASE_URL": NO_DB, "STANDIN_MIGRATE_FAIL": "1"},
        ),
    ):
        pytest.fail("the environment must not come up")
    assert "relation already exists" in str(error.value)
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before


@pytest.mark.usefixtures("standins")
def test_a_server_that_never_listens_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_EMULATOR_FAIL", "1")
    with (
        pytest.raises(LocalEnvError, match="emulator exited before GET") as error,
        local_environment(prometheus=False, report_dir=tmp_path, bot_env={"DATABASE_URL": NO_DB}),
    ):
        pytest.fail("the environment must not come up")
    assert "refusing to start" in str(error.value)


def test_stop_escalates_to_sigkill_for_the_whole_group(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    script = "trap '' TERM; sleep 600 & sleep 600 & wait"
    process = supervisor.start(ProcessSpec("stubborn", ["sh", "-c", script], stop_timeout_s=0.5))
    _wait_for(lambda: len(psutil.Process(process.pid).children()) == 2)
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children()]
    supervisor.stop_all()
    _assert_all_gone(tree, [])
    assert "sending SIGKILL" in (tmp_path / "stubborn.log").read_text()


def test_readiness_timeout_quotes_the_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    process = supervisor.start(ProcessSpec("mute", ["sh", "-c", "echo warming up; sleep 600"]))
    try:
        with pytest.raises(LocalEnvError, match=r"(?s)not reached within 1 s.*warming up"):
            supervisor.wait_ready(process, lambda: False, timeout_s=1, what="ready")
    finally:
        supervisor.stop_all()
    assert process.popen.returncode is not None


def _start_kept_environment(tmp_path: Path, stderr: Path) -> subprocess.Popen[bytes]:
    """``python -m localenv up`` (kept up) on the stand-ins, in its own session."""
    # The command imports the real localenv; only its children see the stand-ins.
    code = (
        "import os, sys; from localenv.up import main; "
        f"os.environ['PYTHONPATH'] = {str(STANDINS)!r}; "
        f"sys.exit(main(['--no-prometheus', '--report-dir', {str(tmp_path)!r}]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with stderr.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            stderr=err,
            env={**env, "DATABASE_URL": NO_DB},
            start_new_session=True,
            preexec_fn=interruptible,
        )


def _assert_environment_file(path: Path, printed: str) -> None:
    """``environment.json`` names every part, reachable, and only its owner may read it."""
    assert path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text())
    assert _get(data["bot_url"] + "/readyz") == 200
    assert _get(data["emulator_url"] + "/__emulator/stats") == 200
    assert data["bot_api_url"] == data["emulator_url"]
    assert data["webhook_url"] == data["bot_url"] + "/telegram/webhook"
    assert data["database_url"] == NO_DB  # DATABASE_URL replaces the embedded PostgreSQL
    assert data["workers"] == 2
    assert set(data["pids"]) == {"emulator", "bot"}
    for secret in (data["webhook_secret"], data["bot_token"]):
        assert len(secret) > 20
        assert secret not in printed  # the secrets go to the file, never to the output


@pytest.mark.usefixtures("standins")
def test_a_given_bot_api_replaces_the_emulator(tmp_path: Path) -> None:
    """``--bot-api-url`` (e.g. a local telegram-bot-api server): no emulator is started."""
    calls: list[str] = []

    class BotApi(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls.append(self.path)
            body = b'{"ok":true,"result":true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BotApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with local_environment(
            bot_api_url=url, prometheus=False, report_dir=tmp_path, bot_env={"DATABASE_URL": NO_DB}
        ) as env:
            assert env.emulator_url is None
            assert env.bot_api_url == url
            assert "emulator" not in env.pids
            assert calls == [f"/bot{env.bot_token}/setWebhook?url={env.webhook_url}"]
    finally:
        server.shutdown()
        server.server_close()
    assert not (tmp_path / "logs" / "emulator.log").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.usefixtures("standins")
def test_the_command_tears_down_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    stderr = tmp_path / "stderr.txt"
    child = _start_kept_environment(tmp_path, stderr)
    try:
        _wait_for(lambda: "kept up" in stderr.read_text(), timeout_s=60)
        tree = [psutil.Process(child.pid), *psutil.Process(child.pid).children(recursive=True)]
        assert len(tree) >= 4  # the command, the emulator, the bot and its worker(s)
        _assert_environment_file(tmp_path / "environment.json", stderr.read_text())
        child.send_signal(sig)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    _assert_all_gone(tree, [])
    assert "stopping the environment" in stderr.read_text()


@pytest.mark.usefixtures("standins")
def test_children_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to clean up: the parent-death signal stops the children."""
    stderr = tmp_path / "stderr.txt"
    child = _start_kept_environment(tmp_path, stderr)
    try:
        _wait_for(lambda: "kept up" in stderr.read_text(), timeout_s=60)
        tree = psutil.Process(child.pid).children(recursive=True)
        assert len(tree) >= 3  # the emulator, the bot and its worker(s)
        child.kill()
        child.wait(timeout=10)
        _wait_for(lambda: not [p for p in tree if _running(p)])
        # Only its temporary directory is left; the next environment (or this) sweeps it.
        assert sweep_stale_roots()
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def test_stale_directories_of_killed_runs_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, live, foreign = (tmp_path / name for name in ("tgscale-a", "tgscale-b", "tgscale-c"))
    for root in (stale, live, foreign):
        (root / "pgdata").mkdir(parents=True)
    (stale / "owner.pid").write_text(str(dead.pid))
    (live / "owner.pid").write_text(str(os.getppid()))
    assert sweep_stale_roots(tmp_path) == [stale]
    assert not stale.exists()
    assert live.exists()
    assert foreign.exists()
