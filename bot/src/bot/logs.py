"""Structured JSON logs: one object per line with ``update_id`` and ``chat_id`` when known.

A redaction filter replaces the bot token and webhook secrets anywhere in a record, so even a
library that logs a Bot API URL (which holds the token) cannot leak it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

if TYPE_CHECKING:
    from collections.abc import Iterable

update_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "update_id", default=None
)
chat_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("chat_id", default=None)

REDACTED = "[REDACTED]"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for ``record``."""
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        update_id = update_id_var.get()
        if update_id is not None:
            data["update_id"] = update_id
        chat_id = chat_id_var.get()
        if chat_id is not None:
            data["chat_id"] = chat_id
        for key in ("outcome", "update_type", "status"):
            value = record.__dict__.get(key)
            if value is not None:
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(data).decode()


class RedactingFilter(logging.Filter):
    """Replaces secrets in the rendered message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # PTB percent-encodes URLs (a download's token ":" becomes "%3A"): redact both forms.
        plain = [s for s in secrets if len(s) >= 4]
        encoded = {quote(s, safe="") for s in plain}
        encoded |= {re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), s) for s in encoded}
        self._secrets = sorted(set(plain) | encoded, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and keep the record."""
        message = record.getMessage()
        for secret in self._secrets:
            message = message.replace(secret, REDACTED)
        record.msg, record.args = message, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self._secrets:
                text = text.replace(secret, REDACTED)
            record.exc_info, record.exc_text = None, None
            record.msg = f"{message}\n{text}"
        return True


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    """Send every logger's records to stderr as JSON, with secrets redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx/aiohttp/uvicorn access logs would log every request; the metrics cover that.
    for noisy in ("uvicorn.access", "httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
