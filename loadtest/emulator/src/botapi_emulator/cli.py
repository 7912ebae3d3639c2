"""``python -m botapi_emulator``: the command line that configures and serves the emulator."""

from __future__ import annotations

import argparse
import socket
import sys
from typing import TYPE_CHECKING

import uvicorn

from botapi_emulator.app import create_app
from botapi_emulator.config import (
    ERROR_DESCRIPTIONS,
    GLOBAL_RATE_DEFAULT,
    GROUP_PER_MINUTE_DEFAULT,
    PAID_BROADCAST_RATE_DEFAULT,
    PER_CHAT_BURST_DEFAULT,
    PER_CHAT_RATE_DEFAULT,
    EmulatorConfig,
    FaultConfig,
    FloodConfig,
    MethodFaults,
)
from botapi_emulator.methods import METHODS_BY_KEY

if TYPE_CHECKING:
    from collections.abc import Sequence

_PER_METHOD = "a number for every method, or METHOD=NUMBER for one method (repeatable)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (its ``--help`` documents every option)."""
    parser = argparse.ArgumentParser(
        prog="python -m botapi_emulator",
        description=(
            "Serve a Telegram Bot API emulator: /bot<token>/<method> answered like the Bot API "
            "(Bot API 10.1), with Telegram's flood control, fault injection, a reply record "
            "(/__emulator/*) and Prometheus metrics (/metrics)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    net = parser.add_argument_group("server")
    net.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    net.add_argument(
        "--port",
        type=int,
        default=8081,
        help="TCP port (0: any free port; the start-up line on stderr names it)",
    )
    net.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (info also logs every request, which costs throughput)",
    )
    flood = parser.add_argument_group(
        "flood control", "Telegram's documented limits; a refused call gets 429 + retry_after"
    )
    flood.add_argument(
        "--no-flood-control", action="store_true", help="never answer 429 (no limits at all)"
    )
    flood.add_argument(
        "--per-chat-rate",
        type=float,
        default=PER_CHAT_RATE_DEFAULT,
        help="messages per second allowed in one chat",
    )
    flood.add_argument(
        "--per-chat-burst",
        type=int,
        default=PER_CHAT_BURST_DEFAULT,
        help="messages a quiet chat may send back to back (Telegram tolerates short bursts)",
    )
    flood.add_argument(
        "--group-per-minute",
        type=float,
        default=GROUP_PER_MINUTE_DEFAULT,
        help="messages per minute allowed in one group (chat_id < 0 or @username)",
    )
    flood.add_argument(
        "--group-burst",
        type=int,
        help="messages a quiet group may send at once (default: a minute's budget)",
    )
    flood.add_argument(
        "--global-rate",
        type=float,
        default=GLOBAL_RATE_DEFAULT,
        help="messages per second allowed across all chats of one bot",
    )
    flood.add_argument(
        "--global-burst",
        type=int,
        help="messages an idle bot may send at once (default: a second's budget)",
    )
    flood.add_argument(
        "--paid-broadcast-rate",
        type=float,
        default=PAID_BROADCAST_RATE_DEFAULT,
        help="messages per second for calls with allow_paid_broadcast (instead of --global-rate)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--latency-ms", action="append", default=[], metavar="[METHOD=]MS",
        help=f"fixed delay before answering: {_PER_METHOD}",
    )  # fmt: skip
    faults.add_argument(
        "--jitter-ms", action="append", default=[], metavar="[METHOD=]MS",
        help=f"extra delay drawn uniformly from [0, MS]: {_PER_METHOD}",
    )  # fmt: skip
    faults.add_argument(
        "--error-ratio", action="append", default=[], metavar="[METHOD=]RATIO",
        help=f"share (0..1) of valid calls answered with an injected error: {_PER_METHOD}",
    )  # fmt: skip
    faults.add_argument(
        "--error-code",
        type=int,
        default=500,
        choices=sorted(ERROR_DESCRIPTIONS),
        help="HTTP status of injected errors",
    )
    faults.add_argument("--seed", type=int, help="seed for fault decisions (reproducible runs)")
    other = parser.add_argument_group("behaviour")
    other.add_argument(
        "--token", help="accept only this bot token (default: any well-formed token)"
    )
    other.add_argument(
        "--strict-webhook-url",
        action="store_true",
        help="require an HTTPS webhook on port 80/88/443/8443 like the cloud API "
        "(default: any http(s) URL, like a --local Bot API server)",
    )
    other.add_argument(
        "--strict-parameters",
        action="store_true",
        help="answer 400 to parameters a method does not have (Telegram ignores them)",
    )
    other.add_argument(
        "--max-recorded",
        type=int,
        default=EmulatorConfig.max_recorded,
        help="replies (and callback answers) the reply record keeps before evicting the oldest",
    )
    other.add_argument(
        "--report-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="write a one-line summary to stderr this often while calls arrive (0: never)",
    )
    return parser


def _per_method(values: Sequence[str], option: str) -> tuple[float | None, dict[str, float]]:
    """Split ``[METHOD=]NUMBER`` values into a default and per-method numbers."""
    default: float | None = None
    methods: dict[str, float] = {}
    for value in values:
        method, sep, number = value.rpartition("=")
        try:
            parsed = float(number)
        except ValueError:
            raise ValueError(f"{option}: {number!r} is not a number") from None
        if not sep:
            default = parsed
            continue
        if method.lower() not in METHODS_BY_KEY:
            raise ValueError(f"{option}: unknown method {method!r}")
        methods[method.lower()] = parsed
    return default, methods


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The :class:`EmulatorConfig` the parsed options describe.

    Raises:
        ValueError: On an invalid option value.
    """
    latency, latency_by = _per_method(args.latency_ms, "--latency-ms")
    jitter, jitter_by = _per_method(args.jitter_ms, "--jitter-ms")
    ratio, ratio_by = _per_method(args.error_ratio, "--error-ratio")
    default = MethodFaults(latency or 0.0, jitter or 0.0, ratio or 0.0)
    methods = {
        name: MethodFaults(
            latency_by.get(name, default.latency_ms),
            jitter_by.get(name, default.jitter_ms),
            ratio_by.get(name, default.error_ratio),
        )
        for name in {*latency_by, *jitter_by, *ratio_by}
    }
    return EmulatorConfig(
        flood=FloodConfig(
            enabled=not args.no_flood_control,
            per_chat_rate=args.per_chat_rate,
            per_chat_burst=args.per_chat_burst,
            group_per_minute=args.group_per_minute,
            group_burst=args.group_burst,
            global_rate=args.global_rate,
            global_burst=args.global_burst,
            paid_broadcast_rate=args.paid_broadcast_rate,
        ),
        faults=FaultConfig(default, methods, args.error_code, args.seed),
        token=args.token,
        strict_webhook_url=args.strict_webhook_url,
        strict_parameters=args.strict_parameters,
        max_recorded=args.max_recorded,
        report_every_s=args.report_every,
    )


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and serve until interrupted.

    Returns:
        0 after a clean shutdown, 2 on invalid options.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return 2
    flood = config.flood
    limits = (
        f"{flood.per_chat_rate:g}/s per chat (burst {flood.per_chat_burst}), "
        f"{flood.group_per_minute:g}/min per group, {flood.global_rate:g}/s global"
        if flood.enabled
        else "off"
    )
    # Bind here rather than in uvicorn, so that with --port 0 the line below names the real port.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        sys.stderr.write(f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {exc}\n")
        return 2
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    sys.stderr.write(
        f"Bot API emulator on http://{host}:{port} (flood control: {limits}; "
        f"faults: {config.faults.to_json()})\n"
    )
    sys.stderr.flush()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level=args.log_level,
            access_log=args.log_level in {"info", "debug"},
            server_header=False,
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
