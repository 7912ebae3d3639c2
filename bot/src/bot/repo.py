"""The only module that speaks SQL: queries on one psycopg connection, and the migration runner.

:class:`Repo` is bound to one connection (inside the update's transaction when the pipeline
uses it) and implements :class:`bot.unit.Store` for the handlers. Clock-dependent logic (rate
slots) uses the database clock, so replicas with skewed clocks still agree.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from psycopg import AsyncClientCursor, AsyncCursor
from psycopg.pq import TransactionStatus

from bot.unit import Note, PhotoFacts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from psycopg import AsyncConnection

log = logging.getLogger(__name__)

#: Key of the advisory lock that serialises migrations (any constant the schema owns).
MIGRATION_LOCK_KEY = 0x7467_6270  # "tgbp"
#: Key of the advisory lock that lets one replica at a time prune.
PRUNE_LOCK_KEY = 0x7467_7072

_NOW = "extract(epoch FROM statement_timestamp())"


@dataclass(frozen=True)
class Claim:
    """What opening an update's transaction found out."""

    claimed: bool  # False: a duplicate, the id is committed already
    delay: float  # seconds until the reserved send slot
    conversation: str | None  # the (chat, user) conversation state, read in the same trip


@dataclass(frozen=True)
class OutboxRow:
    """A Bot API call an update asks for, written in its transaction (migration 0004)."""

    seq: int
    method: str
    params: bytes  # JSON
    chat_id: int | None
    rate_keys: tuple[str, ...] = ()
    webhook_body: bytes | None = None  # answered in the webhook response body, not sent


@dataclass(frozen=True)
class Leased:
    """An outbox row a sender holds (``outbox_lease``)."""

    id: int
    update_id: int
    seq: int
    method: str
    params: dict[str, object]
    chat_id: int | None
    rate_keys: tuple[str, ...]
    attempts: int
    in_doubt: bool  # taken over while 'sending': its call may have gone out already


@dataclass(frozen=True)
class SlotTake:
    """``take_slots``: taken (wait ``delay`` then send) or refused (try again in ``delay``)."""

    taken: bool
    delay: float


@dataclass(frozen=True)
class Outcome:
    """How one leased row ended: sent, failed for good, or back to pending at ``retry_in``."""

    id: int
    state: str  # 'sent' | 'failed' | 'pending'
    message_id: int | None = None
    error: str | None = None
    retry_in: float = 0.0


@dataclass(frozen=True)
class TxTimeouts:
    """Session limits set on each update's transaction (``SET LOCAL``: PgBouncer-safe)."""

    lock_timeout_ms: int
    idle_in_transaction_ms: int

    def sql(self) -> str:
        """The statements to run right after BEGIN."""
        return (
            f"SET LOCAL lock_timeout = {int(self.lock_timeout_ms)}; SET LOCAL"
            f" idle_in_transaction_session_timeout = {int(self.idle_in_transaction_ms)}; "
        )


@dataclass(frozen=True)
class Retention:
    """How long each append-only table keeps its rows (seconds)."""

    dedupe_s: float
    dead_letters_s: float
    conversations_s: float


@dataclass(frozen=True)
class OutboxStats:
    """The open part of the outbox (a leading signal for dashboards and autoscaling)."""

    depth: int
    oldest_age_s: float


class Repo:
    """Queries bound to one connection."""

    def __init__(
        self, conn: AsyncConnection[tuple[object, ...]], timeouts: TxTimeouts | None = None
    ) -> None:
        self.conn = conn
        self._begin = "BEGIN; " + (timeouts.sql() if timeouts else "")
        self._client = AsyncClientCursor(conn)  # client-side binding: several statements, one trip
        self._deferred: list[str] = []

    def _defer(self, sql: str, params: Sequence[object] | dict[str, object]) -> None:
        """Queue a write whose result nobody needs; it travels with the next statement."""
        self._deferred.append(self._client.mogrify(sql, params))

    async def _run(
        self, sql: str, params: Sequence[object] | dict[str, object] | None = None
    ) -> AsyncCursor[tuple[object, ...]]:
        """Execute ``sql`` after the queued writes, in the same round trip (read-your-writes)."""
        if not self._deferred:
            return await self.conn.execute(sql, params)
        statements = [*self._deferred, self._client.mogrify(sql, params)]
        self._deferred.clear()
        cur = self._client
        await cur.execute("; ".join(statements))
        while cur.nextset():  # the last result is the one asked for
            pass
        return cur

    # --- exactly-once bookkeeping ------------------------------------------------------------
    async def begin_and_claim(
        self,
        update_id: int,
        update_type: str,
        chat_id: int | None,
        user_id: int | None = None,
    ) -> Claim:
        """Open the update's transaction and claim its id: one round trip.

        It also reads the (chat, user) conversation state. ``claimed`` is False for a
        duplicate (the id is committed already; a concurrent delivery blocks on the unique
        key until the first one ends). No rate slot is taken here: the sender takes them
        after the commit. The caller must end the transaction with :meth:`commit` or
        :meth:`rollback`.
        """
        # Client-side binding sends BEGIN and the call in one simple query; the function's
        # statements are planned once per connection (migration 0003).
        self._deferred.clear()
        cur = self._client
        await cur.execute(
            self._begin + "SELECT claimed, delay, conversation"  # noqa: S608 (constants)
            " FROM claim_delivery(%s, %s, %s, %s, NULL, NULL, NULL, NULL)",
            (update_id, update_type, chat_id, user_id),
        )
        while cur.nextset():  # BEGIN and SET LOCAL come first; the SELECT's rows are last
            pass
        row = await cur.fetchone()
        if row is None:  # pragma: no cover (the SELECT always returns one row)
            return Claim(False, 0.0, None)
        claimed, delay, state = row
        conversation = state if isinstance(state, str) else None
        return Claim(bool(claimed), max(float(delay), 0.0), conversation)  # type: ignore[arg-type]

    async def commit(self, update_id: int, outbox: Sequence[OutboxRow] = ()) -> None:
        """Send the queued writes, write the update's outbox rows and commit: one round trip."""
        statements = self._deferred
        self._deferred = []
        if outbox:
            rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(outbox))
            values = [
                v
                for r in outbox
                for v in (
                    update_id, r.seq, r.method, r.params.decode(), r.chat_id, list(r.rate_keys),
                    "answered" if r.webhook_body is not None else "pending", r.webhook_body,
                    r.webhook_body is not None,
                )
            ]  # fmt: skip
            insert = (
                "INSERT INTO outbox"  # noqa: S608 (placeholders only)
                " (update_id, seq, method, params, chat_id, rate_keys, state, webhook_body,"
                " done_at) SELECT v.u::bigint, v.s::smallint, v.m, v.p::json, v.c::bigint,"
                " v.k::text[], v.st, v.b::bytea,"
                " CASE WHEN v.d THEN now() END"
                f" FROM (VALUES {rows}) AS v(u, s, m, p, c, k, st, b, d)"
            )
            statements.append(self._client.mogrify(insert, values))
        statements.append("COMMIT")
        await self._client.execute("; ".join(statements))

    async def rollback_with_webhook_body(self, update_id: int) -> bytes | None:
        """End the transaction of a duplicate; return the body its first delivery answered.

        The SELECT is a new statement, so (READ COMMITTED) it sees the row that the delivery
        this one waited for has just committed. One round trip.
        """
        self._deferred.clear()
        cur = self._client
        await cur.execute(
            "SELECT webhook_body FROM outbox"
            " WHERE update_id = %s AND webhook_body IS NOT NULL ORDER BY seq LIMIT 1; ROLLBACK",
            (update_id,),
        )
        row = await cur.fetchone()
        body = row[0] if row else None
        return bytes(body) if isinstance(body, (bytes, memoryview)) else None

    async def rollback(self) -> None:
        """End the update's transaction without any of its effects (if one is open)."""
        self._deferred.clear()
        if self.conn.info.transaction_status != TransactionStatus.IDLE and not self.conn.closed:
            await self.conn.execute("ROLLBACK")

    async def claim_update(self, update_id: int, update_type: str, chat_id: int | None) -> bool:
        """Insert the update's id; False if it is already committed (a duplicate delivery).

        A concurrent delivery of the same id blocks on the unique key until the first
        transaction ends, then sees the conflict: exactly one of them gets True.
        """
        cur = await self.conn.execute(
            "INSERT INTO processed_updates (update_id, update_type, chat_id)"
            " VALUES (%s, %s, %s) ON CONFLICT (update_id) DO NOTHING RETURNING 1",
            (update_id, update_type, chat_id),
        )
        return await cur.fetchone() is not None

    async def dead_letter(
        self, reason: str, body: bytes, update_id: int | None = None, detail: str | None = None
    ) -> None:
        """Keep a payload that can never be processed, with the reason."""
        await self.conn.execute(
            "INSERT INTO dead_letters (reason, update_id, detail, body) VALUES (%s, %s, %s, %s)",
            (reason, update_id, detail, body),
        )

    async def penalize(self, key: str, seconds: float) -> None:
        """Push a key's next slot out by a 429's ``retry_after``, for every replica."""
        await self.conn.execute(
            "INSERT INTO rate_slots AS r (key, last_at, interval_s)"  # noqa: S608 (constant)
            f" VALUES (%(k)s, {_NOW} + %(s)s, 0) ON CONFLICT (key) DO UPDATE"
            " SET last_at = greatest(r.last_at, excluded.last_at - r.interval_s)",
            {"k": key, "s": seconds},
        )

    async def ping(self) -> None:
        """Round trip to the database (readiness)."""
        await self.conn.execute("SELECT 1")

    async def is_processed(self, update_id: int) -> bool:
        """Whether ``update_id`` is committed already (a cheap check before slow work)."""
        cur = await self.conn.execute(
            "SELECT 1 FROM processed_updates WHERE update_id = %s", (update_id,)
        )
        return await cur.fetchone() is not None

    # --- the outbox (the sender's side; autocommit, one statement each) ---------------------
    async def lease(self, destination: str, owner: str, limit: int, lease_s: float) -> list[Leased]:
        """Lease up to ``limit`` due rows, each the first open row of its chat."""
        cur = await self.conn.execute(
            "SELECT * FROM outbox_lease(%s, %s, %s, %s)", (destination, owner, limit, lease_s)
        )
        return [
            Leased(int(i), int(u), int(q), str(m), p if isinstance(p, dict) else {},  # type: ignore[call-overload]
                   None if c is None else int(c), tuple(k or ()), int(a), bool(d))  # type: ignore[call-overload,arg-type]
            for i, u, q, m, p, c, k, a, d in await cur.fetchall()
        ]  # fmt: skip

    async def take_slots(
        self,
        keys: Sequence[str],
        intervals: Sequence[float],
        max_wait: float,
        outbox_id: int | None = None,
        *,
        after_s: float = 0.0,
        count: int = 1,
    ) -> SlotTake:
        """Take a send slot on every key (``count`` consecutive ones, not before ``after_s``
        from now), or nothing: a refusal spends no budget."""
        cur = await self.conn.execute(
            "SELECT taken, delay FROM take_slots(%s, %s, %s, %s, %s, %s)",
            (list(keys), list(intervals), max_wait, outbox_id, after_s, count),
        )
        row = await cur.fetchone()
        if row is None:  # pragma: no cover (the function always returns one row)
            return SlotTake(False, max_wait)
        return SlotTake(bool(row[0]), max(float(row[1]), 0.0))  # type: ignore[arg-type]

    async def mark_sending(self, outbox_id: int) -> None:
        """A row sent without any rate key: from here on its call may be out."""
        await self.conn.execute("UPDATE outbox SET state = 'sending' WHERE id = %s", (outbox_id,))

    async def record(self, owner: str, outcomes: Sequence[Outcome]) -> int:
        """Record how leased rows ended, in one statement; returns the rows still ours.

        A row whose lease another sender took over meanwhile is left alone (``lease_owner``).
        """
        if not outcomes:
            return 0
        rows = ", ".join(["(%s::bigint, %s, %s::bigint, %s, %s::float8)"] * len(outcomes))
        values = [v for o in outcomes for v in (o.id, o.state, o.message_id, o.error, o.retry_in)]
        cur = await self._client.execute(
            "UPDATE outbox AS o SET state = v.st, message_id = v.mid, error = v.err,"  # noqa: S608
            " not_before = CASE WHEN v.st = 'pending'"
            " THEN now() + make_interval(secs => v.r) ELSE o.not_before END,"
            " done_at = CASE WHEN v.st = 'pending' THEN NULL ELSE now() END,"
            " lease_owner = NULL, lease_until = NULL"
            f" FROM (VALUES {rows}) AS v(id, st, mid, err, r)"
            " WHERE o.id = v.id AND o.lease_owner = %s",
            [*values, owner],
        )
        return cur.rowcount

    async def outbox_stats(self, destination: str) -> OutboxStats:
        """Depth and oldest age of the open rows of ``destination``."""
        cur = await self.conn.execute(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            " FROM outbox WHERE destination = %s AND state IN ('pending', 'leased', 'sending')",
            (destination,),
        )
        row = await cur.fetchone()
        if row is None:  # pragma: no cover
            return OutboxStats(0, 0.0)
        return OutboxStats(int(row[0]), float(row[1]))  # type: ignore[call-overload,arg-type]

    # --- retention ---------------------------------------------------------------------------
    async def prune(
        self, retention: Retention, batch: int = 10_000, budget_s: float = 30.0
    ) -> dict[str, int]:
        """Delete expired rows of every append-only table, batch by batch until done.

        Each batch is its own short transaction under a transaction-level advisory lock, so one
        replica prunes at a time (the others skip) and no lock outlives a batch. Stops early
        after ``budget_s`` (the next run continues). Returns the rows deleted per table.
        """
        targets = (
            ("processed_updates", "processed_at", "", retention.dedupe_s),
            ("outbox", "done_at", " AND done_at IS NOT NULL", retention.dedupe_s),
            ("sent_replies", "sent_at", "", retention.dedupe_s),
            ("dead_letters", "received_at", "", retention.dead_letters_s),
            ("conversations", "updated_at", "", retention.conversations_s),
        )
        deleted = {table: 0 for table, *_ in targets}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        for table, column, extra, keep_s in targets:
            while loop.time() < deadline:
                async with self.conn.transaction():
                    if not await self._prune_lock():
                        return deleted
                    cur = await self.conn.execute(
                        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table}"  # noqa: S608 (fixed names)
                        f" WHERE {column} < now() - make_interval(secs => %s){extra} LIMIT %s))",
                        (keep_s, batch),
                    )
                deleted[table] += cur.rowcount
                if cur.rowcount < batch:
                    break
        async with self.conn.transaction():
            if await self._prune_lock():
                cur = await self.conn.execute(
                    f"DELETE FROM rate_slots WHERE last_at < {_NOW} - 3600"  # noqa: S608 (constant)
                )
                deleted["rate_slots"] = cur.rowcount
        return deleted

    async def _prune_lock(self) -> bool:
        cur = await self.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (PRUNE_LOCK_KEY,))
        row = await cur.fetchone()
        return bool(row and row[0])

    # --- Store (the handlers' view) ----------------------------------------------------------
    async def register_user(
        self,
        *,
        user_id: int,
        chat_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> bool:
        """Insert or refresh a user; True when the user is new."""
        cur = await self._run(
            "INSERT INTO users AS u (user_id, chat_id, first_name, username, language_code,"
            " last_seen_at) VALUES (%s, %s, %s, %s, %s, now())"
            " ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id,"
            " first_name = excluded.first_name, username = excluded.username,"
            " language_code = excluded.language_code, last_seen_at = now()"
            " RETURNING (xmax = 0)",
            (user_id, chat_id, first_name, username, language_code),
        )
        row = await cur.fetchone()
        return bool(row and row[0])

    async def set_conversation(self, *, chat_id: int, user_id: int, state: str | None) -> None:
        """Set (or with ``None`` clear) the conversation state of a user in a chat (deferred)."""
        if state is None:
            self._defer(
                "DELETE FROM conversations WHERE chat_id = %s AND user_id = %s", (chat_id, user_id)
            )
            return
        self._defer(
            "INSERT INTO conversations (chat_id, user_id, state) VALUES (%s, %s, %s)"
            " ON CONFLICT (chat_id, user_id) DO UPDATE SET state = excluded.state,"
            " updated_at = now()",
            (chat_id, user_id, state),
        )

    async def count_message(self, *, user_id: int) -> None:
        """Count a message on the user (deferred)."""
        self._defer(
            "UPDATE users SET messages = messages + 1, last_seen_at = now() WHERE user_id = %s",
            (user_id,),
        )

    async def add_note(self, *, chat_id: int, user_id: int, message_id: int, text: str) -> int:
        """Store a note and return its id."""
        cur = await self._run(
            "INSERT INTO notes (user_id, chat_id, message_id, text) VALUES (%s, %s, %s, %s)"
            " RETURNING note_id",
            (user_id, chat_id, message_id, text),
        )
        row = await cur.fetchone()
        assert row is not None  # noqa: S101 (INSERT ... RETURNING always returns the row)
        return int(row[0])  # type: ignore[call-overload,no-any-return]

    async def list_notes(self, *, user_id: int, limit: int) -> Sequence[Note]:
        """The user's latest notes, newest first."""
        cur = await self._run(
            "SELECT note_id, text FROM notes WHERE user_id = %s ORDER BY note_id DESC LIMIT %s",
            (user_id, limit),
        )
        return [Note(int(i), str(t)) for i, t in await cur.fetchall()]  # type: ignore[call-overload]

    async def delete_note(self, *, user_id: int, note_id: int) -> bool:
        """Delete one of the user's notes; False when it was not there."""
        cur = await self._run(
            "DELETE FROM notes WHERE user_id = %s AND note_id = %s", (user_id, note_id)
        )
        return cur.rowcount > 0

    async def edit_note(self, *, chat_id: int, message_id: int, text: str) -> bool:
        """Apply an edited message to the note it created; False when it was no note."""
        cur = await self._run(
            "UPDATE notes SET text = %s, edited_at = now() WHERE chat_id = %s AND message_id = %s",
            (text, chat_id, message_id),
        )
        return cur.rowcount > 0

    async def record_photo(
        self, *, update_id: int, user_id: int | None, chat_id: int, facts: PhotoFacts
    ) -> None:
        """Store the facts about a received photo (deferred)."""
        self._defer(
            "INSERT INTO photos (update_id, user_id, chat_id, file_id, size_bytes, sha256, format)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                update_id,
                user_id,
                chat_id,
                facts.file_id,
                facts.size_bytes,
                facts.sha256,
                facts.format,
            ),
        )

    async def set_blocked(self, *, user_id: int, chat_id: int, blocked: bool) -> None:  # noqa: ARG002
        """Record that the user blocked (or unblocked) the bot (deferred)."""
        self._defer(
            "UPDATE users SET blocked = %s, blocked_changed_at = now() WHERE user_id = %s",
            (blocked, user_id),
        )


# --- migrations ------------------------------------------------------------------------------
def migration_files() -> list[tuple[int, str, str]]:
    """The packaged migrations as (version, name, sql), in version order."""
    folder = resources.files("bot") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: AsyncConnection[tuple[object, ...]]) -> list[str]:
    """Apply the pending migrations, each in its own transaction; return the names applied.

    Every step takes a transaction-level advisory lock (``pg_advisory_xact_lock``), so
    concurrent runs (several replicas or Jobs at once) wait for each other and the second finds
    nothing to do. Transaction-level, not session-level: through PgBouncer in transaction mode a
    session lock and its unlock can land on different server connections, while the lock, the
    check and the migration of one transaction always share one. Idempotent.
    """
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for version, name, sql in migration_files():
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            cur = await conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", (version,)
            )
            if await cur.fetchone() is not None:
                continue
            await conn.execute(sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
        log.info("applied migration %s", name)
        applied.append(name)
    return applied
