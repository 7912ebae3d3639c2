"""Webhook wire constants: the paths, headers and limits both ends of the webhook agree on."""

from typing import Final

#: Default path of the webhook route (configurable in the bot; Telegram posts here).
WEBHOOK_PATH: Final = "/telegram/webhook"
#: Header Telegram sets on every delivery when setWebhook got a ``secret_token``.
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
#: Liveness (the event loop answers) and readiness (database reachable, not draining).
HEALTHZ_PATH: Final = "/healthz"
READYZ_PATH: Final = "/readyz"
METRICS_PATH: Final = "/metrics"

#: Telegram's ``max_connections`` range and default (setWebhook).
MAX_CONNECTIONS_DEFAULT: Final = 40
MAX_CONNECTIONS_MIN: Final = 1
MAX_CONNECTIONS_MAX: Final = 100
#: Telegram waits this long for a webhook answer, then closes the connection and redelivers.
DELIVERY_TIMEOUT_S: Final = 60.0
#: Telegram keeps undelivered message updates this long (callback queries: 150 s).
MESSAGE_RETENTION_S: Final = 24 * 3600
CALLBACK_QUERY_RETENTION_S: Final = 150
#: Telegram's allowed characters and maximum length for ``secret_token``.
SECRET_TOKEN_PATTERN: Final = r"^[A-Za-z0-9_-]{1,256}$"  # noqa: S105 (a pattern)
