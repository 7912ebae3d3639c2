"""``python -m loadtest emulator``: options, their validation, and a real server process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from loadtest.__main__ import main as loadtest_main
from loadtest.emulator import MethodFaults
from loadtest.emulator.cli import build_parser, config_from_args, main


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
        loadtest_main(["emulator", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--host", "--port", "--latency-ms", "--jitter-ms", "--error-ratio", "--per-chat-rate",
        "--group-per-minute", "--global-rate", "--no-flood-control", "--strict-parameters",
    ):  # fmt: skip
        assert option in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_command_serves_the_bot_api() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "loadtest", "emulator", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, killed as a whole below
    )
    try:
        url = f"http://127.0.0.1:{port}"
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
    assert f"Bot API emulator on http://127.0.0.1:{port}" in stderr.decode()
