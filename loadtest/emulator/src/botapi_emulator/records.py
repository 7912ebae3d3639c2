"""The reply record: which incoming messages got a reply and which callback queries an answer.

The gates ask "did every update that needs a reply get one?" after a load run that may last an
hour at thousands of calls per second, so the record is bounded. Keys live in a few generations
of sets; when the newest is full the oldest is dropped and its size is counted as evicted, so a
check can tell "never answered" from "forgotten".
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable

_GENERATIONS = 4


class BoundedSet:
    """A set that keeps about ``capacity`` of the most recently added keys.

    Args:
        capacity: How many keys to keep at least (up to a quarter more are held).
    """

    def __init__(self, capacity: int) -> None:
        self._generation_size = max(1, capacity // _GENERATIONS)
        self._generations: deque[set[Hashable]] = deque([set()])
        self.evicted = 0
        self.duplicates = 0

    def add(self, key: Hashable) -> None:
        """Record ``key``; a key already held counts as a duplicate."""
        if key in self:
            self.duplicates += 1
            return
        newest = self._generations[-1]
        if len(newest) >= self._generation_size:
            newest = set()
            self._generations.append(newest)
            if len(self._generations) > _GENERATIONS + 1:
                self.evicted += len(self._generations.popleft())
        newest.add(key)

    def __contains__(self, key: object) -> bool:
        return any(key in generation for generation in reversed(self._generations))

    def __len__(self) -> int:
        return sum(len(generation) for generation in self._generations)


def message_key(chat_id: int | str, message_id: int) -> Hashable:
    """One compact key per (chat, message): an int for numeric chats, a tuple otherwise.

    Message ids are positive 32-bit numbers, so ``chat_id * 2**32 + message_id`` is unique.
    """
    if isinstance(chat_id, int) and 0 <= message_id < 1 << 32:
        return (chat_id << 32) + message_id
    return (str(chat_id), message_id)


class ReplyRecord:
    """Replies (by the chat and message they answer) and callback query answers.

    Args:
        capacity: How many of each to keep.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.messages = BoundedSet(capacity)
        self.callback_queries = BoundedSet(capacity)

    def reply(self, chat_id: int | str, message_id: int) -> None:
        """Record a message sent in reply to ``message_id`` in ``chat_id``."""
        self.messages.add(message_key(chat_id, message_id))

    def answer(self, callback_query_id: str) -> None:
        """Record an answer to a callback query."""
        self.callback_queries.add(callback_query_id)

    def missing(
        self, messages: list[tuple[int | str, int]], callback_queries: list[str]
    ) -> tuple[list[tuple[int | str, int]], list[str]]:
        """The messages without a reply and the callback queries without an answer."""
        missing_messages = [
            (chat, mid) for chat, mid in messages if message_key(chat, mid) not in self.messages
        ]
        missing_queries = [qid for qid in callback_queries if qid not in self.callback_queries]
        return missing_messages, missing_queries

    def to_json(self) -> dict[str, int]:
        """Sizes and counters, for the stats endpoint."""
        return {
            "messages": len(self.messages),
            "callback_queries": len(self.callback_queries),
            "duplicate_messages": self.messages.duplicates,
            "duplicate_callback_queries": self.callback_queries.duplicates,
            "evicted_messages": self.messages.evicted,
            "evicted_callback_queries": self.callback_queries.evicted,
            "capacity": self.capacity,
        }
