"""How localenv runs the load suite against an environment: ``python -m loadtest run`` as a process.

The runner gets the webhook, the emulator and Prometheus on its command line and the secrets
(webhook secret, bot token) and the Locust metrics port Prometheus scrapes in its environment,
never in argv (ps shows argv).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

from localenv.process import stop_group

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from localenv.environment import LocalEnv

#: How long the runner gets to stop Locust after SIGINT.
_RUNNER_STOP_S = 30.0


def runner_command(env: LocalEnv, report_dir: Path, passthrough: Sequence[str]) -> list[str]:
    """``python -m loadtest run`` against ``env``, with the options the demo did not consume."""
    command = [sys.executable, "-m", "loadtest", "run", "--target", env.webhook_url]
    command += ["--report-dir", str(report_dir)]
    if env.emulator_url:
        command += ["--emulator", env.emulator_url]
    if env.prometheus_url:
        command += ["--prometheus", env.prometheus_url]
    return command + list(passthrough)


def runner_env(env: LocalEnv) -> dict[str, str]:
    """The runner's environment: secrets and the metrics port Prometheus scrapes."""
    return {
        **os.environ,
        "BOT_WEBHOOK_SECRET": env.secret,
        "LOCUST_BOT_TOKEN": env.bot_token,
        "LOCUST_PROMETHEUS_PORT": str(env.locust_metrics_port),
    }


def run_runner(env: LocalEnv, command: Sequence[str]) -> int:
    """Run the runner in its own session; Ctrl-C or a crash of the environment stops it.

    The runner gets SIGINT (as from a terminal), so it stops Locust's process group itself;
    only if it does not exit in time is its own group killed.
    """
    process = subprocess.Popen(command, env=runner_env(env), start_new_session=True)  # noqa: S603
    try:
        return process.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=_RUNNER_STOP_S)
        except subprocess.TimeoutExpired:
            stop_group(process, timeout_s=5)
        raise
