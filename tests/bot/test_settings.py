"""Settings: environment names, rotation, placeholder refusal, Unix-socket database URLs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings

REAL = {
    "BOT_TOKEN": "123456:AAbbCCddEEffGG_hh-ii",
    "BOT_WEBHOOK_SECRET": "a-real-secret-0123456789",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("BOT_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


def test_reads_the_shared_environment_names(monkeypatch):
    env = {
        **REAL,
        "DATABASE_URL": "postgresql://postgres:@/postgres?host=/tmp/xyz",
        "BOT_API_BASE_URL": "http://127.0.0.1:8081/",
        "BOT_HOST": "0.0.0.0",  # noqa: S104 (a test value)
        "BOT_PORT": "9000",
        "BOT_MAX_IN_FLIGHT": "7",
        "BOT_WEBHOOK_PATH": "/hook/",
        "BOT_TEST_HANDLER_DELAY_MS": "5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = Settings()
    assert s.database_url.get_secret_value().endswith("host=/tmp/xyz")
    assert s.api_base_url == "http://127.0.0.1:8081"
    assert (s.host, s.port, s.max_in_flight, s.webhook_path) == ("0.0.0.0", 9000, 7, "/hook")  # noqa: S104
    assert s.test_handler_delay_ms == 5
    assert s.pool_max == 10  # the documented default: no longer tied to the in-flight cap
    assert s.connections == s.sender_concurrency == 100  # one keep-alive per concurrent send


def test_rotation_splits_the_secret_list(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN", REAL["BOT_TOKEN"])
    monkeypatch.setenv("BOT_WEBHOOK_SECRET", "new-secret-0123456789, old-secret-0123456789")
    assert Settings().secrets() == [b"new-secret-0123456789", b"old-secret-0123456789"]


@pytest.mark.parametrize(
    ("token", "secret"),
    [
        ("123456:dev-token", REAL["BOT_WEBHOOK_SECRET"]),
        ("not-a-token", REAL["BOT_WEBHOOK_SECRET"]),
        (REAL["BOT_TOKEN"], "dev-secret"),
        (REAL["BOT_TOKEN"], "changeme"),
        (REAL["BOT_TOKEN"], "short"),
    ],
)
def test_placeholders_are_refused_outside_dev(monkeypatch, token, secret):
    monkeypatch.setenv("BOT_TOKEN", token)
    monkeypatch.setenv("BOT_WEBHOOK_SECRET", secret)
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("BOT_ENV", "dev")
    Settings()


def test_default_settings_start_only_in_dev(monkeypatch):
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("BOT_ENV", "dev")
    assert Settings().env == "dev"


@pytest.mark.parametrize("secret", ["has space in it 0123", "x" * 257, ",,"])
def test_secret_must_be_telegram_compatible(monkeypatch, secret):
    monkeypatch.setenv("BOT_ENV", "dev")
    monkeypatch.setenv("BOT_WEBHOOK_SECRET", secret)
    with pytest.raises(ValidationError):
        Settings()


def test_database_url_must_parse(monkeypatch):
    monkeypatch.setenv("BOT_ENV", "dev")
    monkeypatch.setenv("DATABASE_URL", "postgresql://[broken")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings()


def test_secrets_never_show_in_repr(monkeypatch):
    for key, value in REAL.items():
        monkeypatch.setenv(key, value)
    shown = repr(Settings())
    assert REAL["BOT_TOKEN"] not in shown
    assert REAL["BOT_WEBHOOK_SECRET"] not in shown


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("0", 0), ("5", 5), ("none", None)])
def test_prepared_statements_can_be_turned_off_for_pgbouncer(monkeypatch, value, expected):
    for key, v in REAL.items():
        monkeypatch.setenv(key, v)
    if value is not None:
        monkeypatch.setenv("BOT_DB_PREPARE_THRESHOLD", value)
    assert Settings().db_prepare_threshold == expected


def test_reply_via_accepts_api_and_webhook_only(monkeypatch):
    for key, v in REAL.items():
        monkeypatch.setenv(key, v)
    assert Settings().reply_via == "api"
    monkeypatch.setenv("BOT_REPLY_VIA", "webhook")
    assert Settings().reply_via == "webhook"
    monkeypatch.setenv("BOT_REPLY_VIA", "body")
    with pytest.raises(ValidationError):
        Settings()
