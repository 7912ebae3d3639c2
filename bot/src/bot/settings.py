"""The bot's configuration: one ``Settings`` class read from the environment, built once in main.

Names keep the shared contract (``BOT_*`` plus ``DATABASE_URL``). Secrets are ``SecretStr`` so
they never show up in a repr or a log line, and placeholder secrets are refused outside dev.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from psycopg.conninfo import conninfo_to_dict
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot_contract.webhook import SECRET_TOKEN_PATTERN, WEBHOOK_PATH

#: Values that mean "nobody configured this"; refused unless BOT_ENV=dev.
PLACEHOLDERS = frozenset({"", "changeme", "change-me", "secret", "dev", "test", "placeholder"})
DEV_TOKEN = "123456:dev-token"  # noqa: S105 (the documented dev placeholder, refused outside dev)
DEV_SECRET = "dev-secret"  # noqa: S105 (same)
_TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class Settings(BaseSettings):
    """Every knob of the bot. See bot/README.md for the table of variables."""

    # "none" in the environment means None (e.g. BOT_DB_PREPARE_THRESHOLD=none).
    model_config = SettingsConfigDict(
        env_prefix="BOT_", extra="ignore", frozen=True, env_parse_none_str="none"
    )

    env: Literal["dev", "test", "staging", "prod"] = "prod"
    token: SecretStr = SecretStr(DEV_TOKEN)
    webhook_secret: Annotated[tuple[SecretStr, ...], NoDecode] = (SecretStr(DEV_SECRET),)
    database_url: SecretStr = Field(
        default=SecretStr("postgresql://postgres@localhost/postgres"),
        validation_alias=AliasChoices("DATABASE_URL", "BOT_DATABASE_URL"),
    )
    api_base_url: str = "http://127.0.0.1:8081"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    webhook_path: str = WEBHOOK_PATH
    max_in_flight: int = Field(default=64, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    handler_timeout_s: float = Field(default=20.0, gt=0)
    retry_after_s: int = Field(default=2, ge=1, le=3600)
    shutdown_grace_s: float = Field(default=25.0, ge=0)
    drain_delay_s: float = Field(default=0.0, ge=0)
    db_pool_min: int = Field(default=2, ge=0)
    # Transactions touch only PostgreSQL (a few ms), so a small pool serves many in-flight
    # updates: 2 workers x 10 fit PostgreSQL's default max_connections (100) with room for
    # more replicas. At start-up `serve` checks workers x pool against the server's limit.
    db_pool_max: int = Field(default=10, ge=1)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_pool_check: Literal["warn", "refuse", "off"] = "warn"
    db_connection_reserve: int = Field(default=10, ge=0)
    # Set on every update's transaction with SET LOCAL (PgBouncer transaction mode safe).
    db_lock_timeout_ms: int = Field(default=2000, ge=1)
    db_idle_in_tx_timeout_ms: int = Field(default=5000, ge=1)
    # psycopg prepares a statement after this many runs on a connection; None (the default)
    # never does, which PgBouncer in transaction mode needs (before 1.21, or without
    # max_prepared_statements). The hot path binds client-side (several statements, one round
    # trip), which is never prepared, but with a threshold psycopg still keeps per-query
    # counts for it (PrepareManager, ~3% of the bot's CPU in py-spy).
    db_prepare_threshold: int | None = Field(default=None, ge=0)
    api_timeout_s: float = Field(default=10.0, gt=0)
    api_connections: int | None = Field(default=None, ge=1)
    rate_chat_interval_s: float = Field(default=1.0, ge=0)
    rate_group_interval_s: float = Field(default=3.0, ge=0)
    rate_global_per_s: float = Field(default=30.0, ge=0)
    # allow_paid_broadcast lane: calls over the global rate go out paid, up to this rate (0 off).
    rate_paid_per_s: float = Field(default=0.0, ge=0, le=1000)
    # How far ahead the sender books a slot; a row whose slot is further holds (no budget spent).
    rate_max_wait_s: float = Field(default=1.0, ge=0)
    # The sender: a task in every `serve` process (any replica takes over a dead one's rows).
    sender: bool = True
    sender_concurrency: int = Field(default=100, ge=1)
    sender_poll_s: float = Field(default=0.2, gt=0)
    sender_hold_s: float = Field(default=10.0, gt=0)
    dedupe_retention_h: float = Field(default=26.0, ge=24.0)
    dead_letter_retention_h: float = Field(default=14 * 24.0, gt=0)
    conversation_ttl_h: float = Field(default=24.0, gt=0)
    prune_interval_s: float = Field(default=60.0, gt=0)
    prune_batch: int = Field(default=10_000, ge=1)
    max_photo_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    log_level: str = "INFO"
    # Fault injection: every update's handling takes this much longer (a slow dependency), so
    # the load gates, the in-flight cap and the drain can be shown to act. 0 in production.
    test_handler_delay_ms: int = Field(default=0, ge=0)
    reply_via: Literal["api", "webhook"] = "api"
    # Plain text messages skip PTB's object tree (bot.fastpath); false sends them through PTB.
    fast_path: bool = True

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        """``BOT_WEBHOOK_SECRET`` is comma-separated during a rotation: accept every token."""
        if isinstance(value, str):
            return tuple(SecretStr(part.strip()) for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        """Accept any libpq URL or key=value string, including Unix-socket URLs (``?host=/tmp``)."""
        try:
            conninfo_to_dict(value.get_secret_value())
        except Exception as exc:
            raise ValueError("DATABASE_URL is not a valid libpq connection string") from exc
        return value

    @field_validator("api_base_url", "webhook_path")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/") or "/"

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        """Outside dev, the token and every webhook secret must be real values."""
        secrets = [s.get_secret_value() for s in self.webhook_secret]
        if not secrets:
            raise ValueError("BOT_WEBHOOK_SECRET must hold at least one token")
        for secret in secrets:
            if not re.fullmatch(SECRET_TOKEN_PATTERN, secret):
                raise ValueError("BOT_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ or -")
        if self.env == "dev":
            return self
        token = self.token.get_secret_value()
        if token == DEV_TOKEN or not _TOKEN_PATTERN.fullmatch(token):
            raise ValueError("BOT_TOKEN is a placeholder or malformed (set BOT_ENV=dev to allow)")
        for secret in secrets:
            if secret == DEV_SECRET or secret.lower() in PLACEHOLDERS or len(secret) < 16:
                raise ValueError(
                    "BOT_WEBHOOK_SECRET is a placeholder or shorter than 16 characters "
                    "(set BOT_ENV=dev to allow)"
                )
        return self

    @property
    def pool_max(self) -> int:
        """Pool size per process (webhook, sender, health and pruning share it)."""
        return self.db_pool_max

    @property
    def connections(self) -> int:
        """Keep-alive connections to the Bot API: one per concurrent send."""
        return self.api_connections or self.sender_concurrency

    @property
    def lease_s(self) -> float:
        """How long a sender holds a row: its longest hold, slot wait and call, plus a margin."""
        return self.sender_hold_s + self.rate_max_wait_s + self.api_timeout_s + 5.0

    def secrets(self) -> list[bytes]:
        """The accepted webhook secrets as bytes (for the constant-time compare)."""
        return [s.get_secret_value().encode() for s in self.webhook_secret]
