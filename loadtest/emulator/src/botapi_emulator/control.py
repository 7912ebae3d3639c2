"""A small client for the emulator's control endpoints, for gates and local environments.

Standard library only (``urllib``), so it works unchanged inside a gevent-patched Locust process.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True)
class ReplyCheck:
    """The answer of ``POST /__emulator/check-replies``.

    Attributes:
        missing_messages: ``(chat_id, message_id)`` of messages that got no reply.
        missing_callback_queries: Ids of callback queries that got no answer.
        checked: How many messages and callback queries were checked.
        evicted_messages: Replies the bounded record has forgotten since the last reset; when
            non-zero, ``missing_messages`` may name messages that were answered long ago.
        evicted_callback_queries: The same for callback answers.
    """

    missing_messages: list[tuple[int | str, int]]
    missing_callback_queries: list[str]
    checked: int
    evicted_messages: int
    evicted_callback_queries: int

    @property
    def complete(self) -> bool:
        """Whether every checked update got its reply."""
        return not self.missing_messages and not self.missing_callback_queries

    @property
    def reliable(self) -> bool:
        """Whether the record forgot nothing, so "missing" really means "never answered"."""
        return not self.evicted_messages and not self.evicted_callback_queries


class EmulatorClient:
    """Calls the control endpoints of an emulator at ``base_url``.

    Args:
        base_url: The emulator's root, e.g. ``http://127.0.0.1:8081``.
        timeout: Seconds to wait for each answer.
    """

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (the URL is the emulator's, http)
            f"{self.base_url}{path}",
            data=data,
            method="GET" if data is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        """The counters since the last reset (``GET /__emulator/stats``)."""
        stats: dict[str, Any] = self._call("/__emulator/stats")
        return stats

    def reset(self) -> None:
        """Start the counters, the reply record and the flood buckets over."""
        self._call("/__emulator/reset", {})

    def check_replies(
        self,
        messages: Iterable[tuple[int | str, int]] = (),
        callback_queries: Iterable[str] = (),
    ) -> ReplyCheck:
        """Which of these messages got no reply and which callback queries no answer."""
        answer = self._call(
            "/__emulator/check-replies",
            {
                "messages": [[chat, message_id] for chat, message_id in messages],
                "callback_queries": list(callback_queries),
            },
        )
        return ReplyCheck(
            missing_messages=[
                (chat, message_id) for chat, message_id in answer["missing_messages"]
            ],
            missing_callback_queries=list(answer["missing_callback_queries"]),
            checked=int(answer["checked"]),
            evicted_messages=int(answer["evicted_messages"]),
            evicted_callback_queries=int(answer["evicted_callback_queries"]),
        )

    def set_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault configuration (the JSON ``GET /__emulator/faults`` shows)."""
        current: dict[str, Any] = self._call("/__emulator/faults", faults)
        return current

    def set_flood(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change flood-control limits (any of the keys ``GET /__emulator/flood`` shows)."""
        current: dict[str, Any] = self._call("/__emulator/flood", changes)
        return current
