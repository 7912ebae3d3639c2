"""/metrics exposes every metric the contract documents, and the README lists them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot_contract.metrics import BOT_METRICS
from tests.bot.factories import text

README = Path(__file__).parents[3] / "bot" / "README.md"


async def test_metrics_exposes_every_documented_metric(bot_factory, stub, session):
    bot = await bot_factory()
    await bot.post(session, text("/start"))
    await bot.post(session, b"garbage")
    await stub.wait_sent(1)
    await asyncio.sleep(0.1)  # the sender counts the call once the answer is in
    async with session.get(bot.url + "/metrics") as resp:
        assert resp.status == 200
        body = await resp.text()
    for metric in BOT_METRICS:
        kind = metric.kind.value
        typed = {f"# TYPE {metric.name} {kind}", f"# TYPE {metric.series} {kind}"}
        assert any(line in body for line in typed), metric.name
        for label in metric.labels:
            if metric.name in ("tgbot_updates", "tgbot_bot_api_requests"):
                assert f'{label}="' in body
    assert 'tgbot_updates_total{outcome="handled",update_type="command"} 1.0' in body
    assert 'tgbot_bot_api_requests_total{method="sendMessage",status="200"} 1.0' in body
    assert 'tgbot_outbox_sends_total{result="sent"} 1.0' in body
    assert "tgbot_updates_in_flight_limit 64.0" in body
    assert "tgbot_ready 1.0" in body


def test_readme_documents_every_metric():
    text_ = README.read_text()
    for metric in BOT_METRICS:
        assert f"`{metric.series}`" in text_, metric.name
