"""JSON logs carry update_id and chat_id and never a secret."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, RedactingFilter, chat_id_var, update_id_var


def test_json_lines_with_ids_and_redaction():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(["123456:SECRET-TOKEN", "hook-secret-value"]))
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    token_u, token_c = update_id_var.set(77), chat_id_var.set(-5)
    try:
        logger.warning(
            "calling http://x/bot%s/sendMessage", "123456:SECRET-TOKEN", extra={"status": 429}
        )
        try:
            raise RuntimeError("hook-secret-value leaked?")
        except RuntimeError:
            logger.exception("failed")
    finally:
        update_id_var.reset(token_u)
        chat_id_var.reset(token_c)
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    first = lines[0]
    assert first["update_id"] == 77
    assert first["chat_id"] == -5
    assert first["status"] == 429
    assert first["level"] == "WARNING"
    assert "SECRET-TOKEN" not in stream.getvalue()
    assert "hook-secret-value" not in stream.getvalue()
    assert "[REDACTED]" in first["msg"]


def test_the_percent_encoded_token_is_redacted_too():
    """PTB percent-encodes a download URL: the token's ":" becomes "%3A" (or "%3a")."""
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "%s %s", None, None)
    record.args = ("GET /file/bot123456%3ASECRET-TOKEN/x.jpg", "/bot123456%3aSECRET-TOKEN/")
    RedactingFilter(["123456:SECRET-TOKEN"]).filter(record)
    assert record.getMessage() == "GET /file/bot[REDACTED]/x.jpg /bot[REDACTED]/"
