"""Update builders for the bot's tests, on top of bot_contract's wire-format factories."""

from __future__ import annotations

import itertools
from typing import Any

from bot_contract import updates as u

ALICE = u.User(1001, "Alice", "alice")
BOB = u.User(1002, "Bob", "bob")
GROUP = u.Chat(-100777, "supergroup", title="Team")
DATE = 1_767_000_000

_ids = itertools.count(1)


def next_id() -> int:
    return next(_ids) * 10 + 7_000_000


def text(
    text: str, *, user: u.User = ALICE, chat: u.Chat | None = None, update_id: int | None = None
) -> dict[str, Any]:
    uid = update_id if update_id is not None else next_id()
    return u.text_update(
        uid,
        message_id=uid % 100000,
        user=user,
        chat=chat or u.Chat.private(user),
        date=DATE,
        text=text,
    )


def callback(data: str, *, user: u.User = ALICE) -> dict[str, Any]:
    uid = next_id()
    return u.callback_query_update(
        uid,
        query_id=f"q{uid}",
        user=user,
        chat=u.Chat.private(user),
        message_id=5,
        message_date=DATE,
        data=data,
    )
