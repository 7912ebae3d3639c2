"""The traffic model: who writes to the bot, how often, what, and under which ``update_id``.

A :class:`Population` of users and group chats with Zipf-like activity (a few chats are very
busy, most are quiet), a configurable :class:`Mix` of update types, and a
:class:`TrafficGenerator` that turns both into Update dicts built by :mod:`bot_contract.updates`,
with consistent users and chats, per-chat ``message_id`` sequences and real dates.

Distributed load generators each get a *slot* out of *slots*: a generator only writes to the
chats whose index falls in its slot (so one chat's FIFO lives in one process, as it does in
Telegram), and takes ``update_id`` = ``start + n * slots + slot`` (unique across generators and
increasing in each; interleaved so the global sequence increases too).
"""

import bisect
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from bot_contract import updates as u
from bot_contract.webhook import CALLBACK_QUERY_RETENTION_S, MESSAGE_RETENTION_S

#: Queue keys as Telegram's server picks them: messages use the chat id, callback queries
#: ``user_id + (3 << 33)`` (one FIFO per user), so both never collide.
CALLBACK_QUEUE_OFFSET: Final = 3 << 33
#: ``update_id`` values are 64-bit safe here; see :func:`default_update_id_start`.
_ID_EPOCH_S: Final = 1_700_000_000
_IDS_PER_SECOND: Final = 1_000_000

#: Update types that the bot must answer with a Bot API call (COMMON.md "Replies").
NEEDS_REPLY: Final = frozenset(
    {u.UpdateType.TEXT, u.UpdateType.COMMAND, u.UpdateType.PHOTO, u.UpdateType.CALLBACK_QUERY}
)

_DEFAULT_COMMANDS: Final = ("/start", "/help", "/note buy milk", "/notes")
_WORDS: Final = (
    "hello",
    "what",
    "is",
    "the",
    "plan",
    "for",
    "today",
    "ok",
    "thanks",
    "see",
    "you",
    "later",
    "note",
    "this",
    "please",
    "milk",
    "tomorrow",
    "great",
)
_FIRST_NAMES: Final = ("Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Radia", "Dennis")


def default_update_id_start(now: float | None = None) -> int:
    """A run's first ``update_id``: a function of the wall clock, so later runs never reuse ids.

    One million ids per second of wall clock since 2023-11-14 leaves room for any realistic
    rate, and stays far below 2**53 (JSON-safe) for centuries. A bot must therefore store
    ``update_id`` as a 64-bit integer (PostgreSQL ``bigint``), as Telegram's docs allow.
    """
    current = time.time() if now is None else now
    return max(1, int(current - _ID_EPOCH_S)) * _IDS_PER_SECOND


@dataclass
class UpdateIdAllocator:
    """Hands out ``start + n * slots + slot`` for n = 0, 1, 2 ...: unique across slots."""

    start: int
    slot: int = 0
    slots: int = 1
    _counter: Iterator[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.slot < self.slots:
            raise ValueError(f"slot {self.slot} is outside 0..{self.slots - 1}")
        self._counter = itertools.count(self.start + self.slot, self.slots)

    def next(self) -> int:
        """The next ``update_id`` of this slot."""
        return next(self._counter)


@dataclass(frozen=True)
class Mix:
    """Relative weights of the update types, and the commands a command update picks from."""

    weights: Mapping[u.UpdateType, float]
    commands: tuple[str, ...] = _DEFAULT_COMMANDS

    def __post_init__(self) -> None:
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("mix weights must be >= 0 with a positive sum")
        if not self.commands or not all(c.startswith("/") for c in self.commands):
            raise ValueError("commands must be non-empty and each start with '/'")

    @classmethod
    def default(cls) -> "Mix":
        """Mostly text and commands, some button presses, a few photos, edits and blocks."""
        return cls.from_mapping(
            {
                "text": 45,
                "command": 25,
                "callback_query": 15,
                "photo": 5,
                "edited_message": 5,
                "my_chat_member": 5,
            }
        )

    @classmethod
    def from_mapping(
        cls, weights: Mapping[str, float], commands: Iterable[str] | None = None
    ) -> "Mix":
        """Build from ``{"text": 50, ...}``; unknown type names raise ``ValueError``."""
        parsed = {u.UpdateType(name): float(weight) for name, weight in weights.items()}
        return cls(parsed, tuple(commands) if commands is not None else _DEFAULT_COMMANDS)


@dataclass(frozen=True)
class PopulationConfig:
    """Who talks to the bot: ``users`` people, ``groups`` group chats, Zipf activity ``zipf_s``.

    ``group_share`` is the share of all activity that happens in groups. ``zipf_s`` is the
    exponent of the rank-frequency law (``weight(rank) = 1 / rank**s``); ~1 is typical.
    """

    users: int = 10_000
    groups: int = 200
    group_share: float = 0.2
    zipf_s: float = 1.1
    group_size: int = 20
    seed: int = 1

    def __post_init__(self) -> None:
        if self.users < 1 or self.groups < 0 or self.group_size < 1:
            raise ValueError("a population needs users >= 1, groups >= 0 and group_size >= 1")
        if not 0 <= self.group_share <= 1 or (self.groups == 0 and self.group_share > 0):
            raise ValueError("group_share must be in 0..1 (and 0 without groups)")
        if self.zipf_s < 0:
            raise ValueError("zipf_s must be >= 0")


@dataclass
class _ChatState:
    chat: u.Chat
    members: tuple[u.User, ...]
    next_message_id: int = 1
    # (message_id, sender index, date) of the last text message, for edited_message updates.
    last_text: tuple[int, int, int] | None = None


class GeneratedUpdate(NamedTuple):
    """One update and what the delivery model and the gates need to know about it.

    A named tuple rather than a frozen dataclass: one is built per update, and tuples are the
    cheapest immutable record Python has.
    """

    update: u.JSON
    kind: u.UpdateType
    name: str  # the Locust stats name, ``update:<type>`` or ``update:command:<command>``
    queue_key: int  # the FIFO it belongs to (chat id, or user id + offset for callbacks)
    created: float  # unix time it was created (message.date is its integer part)
    expires: float  # unix time Telegram would drop it undelivered
    reply_to: tuple[int, int] | None = None  # (chat_id, message_id) the bot must answer
    callback_query_id: str | None = None  # a callback query the bot must answer


class Population:
    """Users and chats, with one Zipf weight per chat; deterministic for a given config."""

    def __init__(self, config: PopulationConfig) -> None:
        """Build every user and chat from ``config.seed``."""
        self.config = config
        rng = random.Random(config.seed)  # noqa: S311 (simulated users, not security)
        self.users = tuple(
            u.User(
                id=1_000_000_000 + i * 17 + rng.randrange(17),
                first_name=rng.choice(_FIRST_NAMES),
                username=f"user{i}" if rng.random() < 0.7 else None,
                language_code=rng.choice(("en", "en", "en", "de", "es", "ru")),
            )
            for i in range(config.users)
        )
        chats = [_ChatState(u.Chat.private(user), (user,)) for user in self.users]
        for g in range(config.groups):
            size = min(config.group_size, config.users)
            members = tuple(rng.sample(self.users, size))
            group = u.Chat(id=-1_001_000_000_000 - g, type="supergroup", title=f"Group {g}")
            chats.append(_ChatState(group, members))
        self.chats: tuple[_ChatState, ...] = tuple(chats)
        self.weights = self._zipf_weights(rng)

    def _zipf_weights(self, rng: random.Random) -> tuple[float, ...]:
        """Per-chat weights: Zipf over ranks, ranks shuffled, private/group shares honoured."""
        cfg = self.config
        users, groups = cfg.users, cfg.groups

        def zipf(n: int) -> list[float]:
            ranks = list(range(1, n + 1))
            rng.shuffle(ranks)
            raw = [1.0 / r**cfg.zipf_s for r in ranks]
            total = sum(raw)
            return [w / total for w in raw]

        private = [w * (1 - cfg.group_share) for w in zipf(users)]
        grouped = [w * cfg.group_share for w in zipf(groups)] if groups else []
        return tuple(private + grouped)


class TrafficGenerator:
    """Creates updates for one generator slot at the caller's pace (see the module docstring)."""

    def __init__(
        self,
        population: Population,
        mix: Mix,
        ids: UpdateIdAllocator,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Own the chats of ``ids.slot`` (every ``ids.slots``-th chat) of ``population``."""
        self.population = population
        self.mix = mix
        self.ids = ids
        self._clock = clock
        self._rng = random.Random(  # noqa: S311 (simulated traffic)
            population.config.seed * 1_000_003 + ids.slot if seed is None else seed
        )
        mine = range(ids.slot, len(population.chats), ids.slots)
        if not mine:
            raise ValueError(f"slot {ids.slot} of {ids.slots} owns no chat: grow the population")
        self._chats = [population.chats[i] for i in mine]
        self._chat_cum = list(itertools.accumulate(population.weights[i] for i in mine))
        kinds = [k for k, w in mix.weights.items() if w > 0]
        self._kinds = kinds
        self._kind_cum = list(itertools.accumulate(mix.weights[k] for k in kinds))
        # A pool of sentences, built once: picking one is ~10x cheaper than composing one.
        self._sentences = tuple(
            " ".join(self._rng.choices(_WORDS, k=1 + int(self._rng.random() * 8)))
            for _ in range(256)
        )
        self._callbacks = itertools.count(1)
        self._files = itertools.count(1)
        self._builders: dict[u.UpdateType, Callable[[_ChatState, int, int, float], GeneratedUpdate]]
        self._builders = {
            u.UpdateType.TEXT: self._text,
            u.UpdateType.COMMAND: self._command,
            u.UpdateType.CALLBACK_QUERY: self._callback,
            u.UpdateType.PHOTO: self._photo,
            u.UpdateType.EDITED_MESSAGE: self._edited,
            u.UpdateType.MY_CHAT_MEMBER: self._my_chat_member,
        }

    def next(self) -> GeneratedUpdate:
        """Create the next update: pick a chat by activity and a type by the mix."""
        rng = self._rng
        chat = self._chats[
            min(
                bisect.bisect(self._chat_cum, rng.random() * self._chat_cum[-1]),
                len(self._chats) - 1,
            )
        ]
        kind = self._kinds[
            min(
                bisect.bisect(self._kind_cum, rng.random() * self._kind_cum[-1]),
                len(self._kinds) - 1,
            )
        ]
        if kind is u.UpdateType.EDITED_MESSAGE and chat.last_text is None:
            kind = u.UpdateType.TEXT  # nothing to edit yet in this chat: write something first
        # int(random() * n) rather than randrange(n): several times cheaper, same purpose here.
        sender = int(rng.random() * len(chat.members))
        now = self._clock()
        return self._builders[kind](chat, sender, self.ids.next(), now)

    # --- one builder per type --------------------------------------------------------------
    def _message_id(self, chat: _ChatState) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _sentence(self) -> str:
        return self._sentences[int(self._rng.random() * len(self._sentences))]

    def _message_update(
        self,
        chat: _ChatState,
        sender: int,
        update_id: int,
        now: float,
        text: str,
        kind: u.UpdateType,
    ) -> GeneratedUpdate:
        message_id = self._message_id(chat)
        user = chat.members[sender]
        date = int(now)
        update = u.text_update(
            update_id, message_id=message_id, user=user, chat=chat.chat, date=date, text=text
        )
        chat.last_text = (message_id, sender, date)
        name = f"update:{kind}"
        if kind is u.UpdateType.COMMAND:
            name = f"update:command:{text.split(maxsplit=1)[0]}"
        return GeneratedUpdate(
            update,
            kind,
            name,
            chat.chat.id,
            now,
            date + MESSAGE_RETENTION_S,
            reply_to=(chat.chat.id, message_id),
        )

    def _text(self, chat: _ChatState, sender: int, update_id: int, now: float) -> GeneratedUpdate:
        text = self._sentence()
        return self._message_update(chat, sender, update_id, now, text, u.UpdateType.TEXT)

    def _command(
        self, chat: _ChatState, sender: int, update_id: int, now: float
    ) -> GeneratedUpdate:
        commands = self.mix.commands
        text = commands[int(self._rng.random() * len(commands))]
        return self._message_update(chat, sender, update_id, now, text, u.UpdateType.COMMAND)

    def _photo(self, chat: _ChatState, sender: int, update_id: int, now: float) -> GeneratedUpdate:
        message_id = self._message_id(chat)
        date = int(now)
        file_id = f"AgAC{self.ids.slot}x{next(self._files)}"
        caption = self._sentence() if self._rng.random() < 0.3 else None
        update = u.photo_update(
            update_id,
            message_id=message_id,
            user=chat.members[sender],
            chat=chat.chat,
            date=date,
            file_id=file_id,
            caption=caption,
        )
        return GeneratedUpdate(
            update,
            u.UpdateType.PHOTO,
            "update:photo",
            chat.chat.id,
            now,
            date + MESSAGE_RETENTION_S,
            reply_to=(chat.chat.id, message_id),
        )

    def _edited(self, chat: _ChatState, sender: int, update_id: int, now: float) -> GeneratedUpdate:
        if chat.last_text is None:  # next() never picks an edit without a text to edit
            return self._text(chat, sender, update_id, now)
        message_id, author, date = chat.last_text
        update = u.edited_message_update(
            update_id,
            message_id=message_id,
            user=chat.members[author],
            chat=chat.chat,
            date=date,
            edit_date=max(date, int(now)),
            text=self._sentence(),
        )
        return GeneratedUpdate(
            update,
            u.UpdateType.EDITED_MESSAGE,
            "update:edited_message",
            chat.chat.id,
            now,
            date + MESSAGE_RETENTION_S,
        )

    def _callback(
        self, chat: _ChatState, sender: int, update_id: int, now: float
    ) -> GeneratedUpdate:
        user = chat.members[sender]
        query_id = f"{self.ids.slot}{next(self._callbacks):015d}"
        # The pressed button sits on an earlier bot message of this chat.
        bot_message_id = max(1, chat.next_message_id - 1)
        update = u.callback_query_update(
            update_id,
            query_id=query_id,
            user=user,
            chat=chat.chat,
            message_id=bot_message_id,
            message_date=int(now) - 1,
            data=f"note:{self._rng.randint(1, 9)}",
        )
        return GeneratedUpdate(
            update,
            u.UpdateType.CALLBACK_QUERY,
            "update:callback_query",
            user.id + CALLBACK_QUEUE_OFFSET,
            now,
            now + CALLBACK_QUERY_RETENTION_S,
            callback_query_id=query_id,
        )

    def _my_chat_member(
        self, chat: _ChatState, sender: int, update_id: int, now: float
    ) -> GeneratedUpdate:
        # Always "unblocked" (kicked -> member): a user who blocked the bot would stop writing,
        # and the generator keeps every chat writable so replies stay checkable.
        update = u.my_chat_member_update(
            update_id, user=chat.members[sender], chat=chat.chat, date=int(now), blocked=False
        )
        return GeneratedUpdate(
            update,
            u.UpdateType.MY_CHAT_MEMBER,
            "update:my_chat_member",
            chat.chat.id,
            now,
            int(now) + MESSAGE_RETENTION_S,
        )
