"""``python -m botapi_emulator``: options, their validation, and a real server process."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from botapi_emulator import EmulatorConfig, MethodFaults, create_app
from botapi_emulator.cli import build_parser, config_from_args, main
from botapi_emulator.report import summary
from tests.botapi_emulator.support import EmulatorServer


def test_defaults_are_telegrams_limits() -> None:
    config = config_from_args(build_parser().parse_args([]))
    assert config.flood.enabled
    assert config.flood.per_chat_rate == 1.0
    assert config.flood.group_per_minute == 20.0
    assert config.flood.global_rate == 30.0
    assert not config.faults.default.active


def test_fault_options_per_method() -> None:
    args = build_parser().parse_args(
        [
            "--latency-ms", "5", "--latency-ms", "sendPhoto=50", "--jitter-ms", "2",
            "--error-ratio", "sendMessage=0.25", "--error-code", "502", "--seed", "3",
            "--no-flood-control", "--per-chat-burst", "5", "--max-recorded", "10",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert config.faults.default == MethodFaults(latency_ms=5, jitter_ms=2)
    assert config.faults.methods == {
        "sendphoto": MethodFaults(latency_ms=50, jitter_ms=2),
        "sendmessage": MethodFaults(latency_ms=5, jitter_ms=2, error_ratio=0.25),
    }
    assert config.faults.error_code == 502
    assert config.faults.seed == 3
    assert not config.flood.enabled
    assert config.flood.per_chat_burst == 5
    assert config.max_recorded == 10


@pytest.mark.parametrize(
    "argv",
    [
        ["--error-ratio", "sendNothing=0.5"],
        ["--error-ratio", "1.5"],
        ["--latency-ms", "fast"],
        ["--global-rate", "0"],
        ["--per-chat-burst", "0"],
    ],
)
def test_invalid_options_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--host", "--port", "--latency-ms", "--jitter-ms", "--error-ratio", "--per-chat-rate",
        "--group-per-minute", "--global-rate", "--no-flood-control", "--strict-parameters",
    ):  # fmt: skip
        assert option in text


def _startup_line(process: subprocess.Popen[bytes]) -> str:
    """The emulator's first stderr line, waiting at most 30 s for it."""
    assert process.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        assert selector.select(timeout=30), "no start-up line within 30 s"
    return process.stderr.readline().decode()


def test_command_serves_the_bot_api_on_the_port_it_names() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "botapi_emulator", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, killed as a whole below
    )
    try:
        line = _startup_line(process)
        match = re.search(r"Bot API emulator on (http://127\.0\.0\.1:(\d+)) ", line)
        assert match, line
        url = match.group(1)
        assert int(match.group(2)) > 0
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the emulator exited"
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)
        body = httpx.get(f"{url}/bot1:abc/getMe", timeout=5).json()
        assert body["ok"] is True
        assert body["result"]["id"] == 1
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
    # uvicorn shuts down gracefully, then re-raises the signal it caught (the Unix convention).
    assert process.returncode in {0, -signal.SIGTERM}
    assert b"Traceback" not in stderr


def test_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["--port", str(taken.getsockname()[1])]) == 2
    assert "cannot listen on" in capsys.readouterr().err


def test_progress_lines_while_calls_arrive(capfd: pytest.CaptureFixture[str]) -> None:
    config = EmulatorConfig(report_every_s=0.05)
    app = create_app(config)
    server = EmulatorServer(app, lifespan="on")
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
            for _ in range(3):
                client.get("/bot1:abc/getMe")
            deadline = time.monotonic() + 30
            seen = ""
            while "emulator: 3 calls" not in seen:
                assert time.monotonic() < deadline, seen
                time.sleep(0.05)
                seen += capfd.readouterr().err
    finally:
        server.stop()
    assert "0 answered 429" in seen


def test_summary_line() -> None:
    state = create_app().state.emulator
    state.counters.requests[("sendMessage", 200)] += 10
    state.counters.rate_limited[("sendMessage", "chat")] += 2
    state.record.reply(1, 2)
    line = summary(state, calls_before=4, seconds=2.0)
    assert line == (
        "emulator: 10 calls (3/s), 2 answered 429, 0 injected errors, "
        "1 replies and 0 callback answers recorded"
    )
