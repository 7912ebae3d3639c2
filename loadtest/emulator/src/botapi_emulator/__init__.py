"""A Telegram Bot API emulator: the bot's outgoing calls answered the way the Bot API does.

``python -m botapi_emulator --host 127.0.0.1 --port 8081`` serves it (see :mod:`.cli`);
tests build it in-process with :func:`create_app`. It answers ``/bot<token>/<method>`` with
Telegram's envelope and errors, enforces Telegram's flood control with 429 ``retry_after``,
injects latency and errors on demand, records every reply for the gates, and exports the
``tgemu_*`` metrics.
"""

from botapi_emulator.app import create_app
from botapi_emulator.cli import main
from botapi_emulator.config import EmulatorConfig, FaultConfig, FloodConfig, MethodFaults
from botapi_emulator.control import EmulatorClient, ReplyCheck
from botapi_emulator.methods import METHODS

__all__ = [
    "METHODS",
    "EmulatorClient",
    "EmulatorConfig",
    "FaultConfig",
    "FloodConfig",
    "MethodFaults",
    "ReplyCheck",
    "create_app",
    "main",
]
