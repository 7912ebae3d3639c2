from pathlib import Path

import pytest

from loadtest import runner


def test_split_target_keeps_the_path_or_uses_the_default() -> None:
    assert runner.split_target("https://bot.example.com/hook") == (
        "https://bot.example.com",
        "/hook",
    )
    assert runner.split_target("http://127.0.0.1:8080") == (
        "http://127.0.0.1:8080",
        "/telegram/webhook",
    )
    with pytest.raises(ValueError, match="http"):
        runner.split_target("127.0.0.1:8080")


def test_locust_command_wires_the_report_and_keeps_the_secret_out_of_argv() -> None:
    argv = ["--target", "http://h:1/p", "--profile", "steady", "--duration", "30"]
    argv += ["--secret", "hush", "--emulator", "http://e:2", "--", "--check-p95-ms", "9"]
    args = runner.build_parser().parse_args(argv)
    wiring = runner.Wiring.from_args(args)
    assert wiring.secret == "hush"  # noqa: S105 (a test value)
    command = runner.locust_command(args, wiring, Path("out"))
    joined = " ".join(command)
    assert "hush" not in joined
    for expected in (
        "--headless",
        "-H http://h:1",
        "--webhook-path /p",
        "--load-profile steady",
        "--report-dir out",
        "--html out/locust.html",
        "--csv out/locust",
        "--shape-duration 30.0",
        "--emulator-url http://e:2",
    ):
        assert expected in joined, expected
    assert "--prometheus-url" not in joined
    assert command[-2:] == ["--check-p95-ms", "9"]


def test_usage_errors_exit_2(tmp_path, capsys) -> None:
    assert runner.main(["--profile", "steady", "--duration", "-1", "--target", "http://x"]) == 2
    assert "--duration must be > 0" in capsys.readouterr().err


def test_run_needs_a_target_and_never_starts_an_environment(capsys) -> None:
    with pytest.raises(SystemExit) as usage:
        runner.main(["--profile", "steady"])
    assert usage.value.code == 2
    assert "--target" in capsys.readouterr().err
