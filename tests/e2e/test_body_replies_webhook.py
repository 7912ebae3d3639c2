"""The real bot with ``BOT_REPLY_VIA=webhook``: replies travel in the webhook answers only.

Telegram executes a method found in a 2xx webhook answer; the load suite does the same against
the emulator (``loadtest.delivery.BodyReplies``), so the replies gate passes in this mode too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.e2e import _harness
from tests.e2e._harness import PROFILE

#: The fixture (see _harness: no conftest here).
run_load = _harness.run_load

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e._harness import Run

REPLIES_GATE = "every update needing a reply got one"


def test_replies_in_webhook_answers_pass_the_replies_gate(run_load: Callable[..., Run]) -> None:
    run = run_load(
        "--profile", PROFILE, "--duration", "20", "--workers", "2",
        env={"BOT_REPLY_VIA": "webhook"},
    )  # fmt: skip
    summary = json.loads((run.report_dir / "summary.json").read_text())
    gate = next(g for g in summary["gates"] if g["name"] == REPLIES_GATE)
    assert gate["verdict"] == "pass", gate
    assert run.returncode == 0, run.output
    body_replies = summary["totals"]["body_replies"]
    # The bot answered with methods and the emulator (same local token) ran them all.
    assert body_replies.get("executed", 0) > 0, body_replies
    assert body_replies.get("failed", 0) == 0, body_replies
    assert body_replies.get("dropped", 0) == 0, body_replies
    assert run.leftovers() == []
