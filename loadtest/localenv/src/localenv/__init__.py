"""tgscale's local environment and the tools that orchestrate runs on it.

``python -m localenv up | demo | capacity | bench-loadgen``. It imports only ``bot_contract`` of
ours: the bot, the Bot API emulator, Locust (through ``python -m loadtest run``) and the
dashboards' preview run as processes.
"""

from localenv.environment import LocalEnv, local_environment
from localenv.process import LocalEnvError

__all__ = ["LocalEnv", "LocalEnvError", "local_environment"]
