-- tgscale bot schema, version 4: the reply outbox. The webhook's transaction only writes rows;
-- a sender delivers them after the commit, in each chat's order, under the fleet-wide limits.
--
-- One row per outgoing call, keyed by (update_id, seq). `destination` says who delivers a row:
-- 'botapi' is the sender (`python -m bot send`, or the task in every `serve`). The queue tier
-- adds its own destinations (a relay publishing to RabbitMQ, marking rows sent after the
-- broker's confirm) on the same table, states and lease columns.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    update_id    bigint NOT NULL,
    seq          smallint NOT NULL,
    destination  text NOT NULL DEFAULT 'botapi',
    method       text NOT NULL,
    params       json NOT NULL,            -- the call's parameters, as sent
    chat_id      bigint,                   -- order key: a chat's rows leave in (update_id, seq)
    rate_keys    text[] NOT NULL DEFAULT '{}',  -- e.g. {chat:1,global} or {chat:-5,global,group:-5}
    -- pending → leased (a sender holds it) → sending (its slot is taken: the call may be out)
    -- → sent | failed; 'answered': executed by Telegram from the webhook's answer body.
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'leased', 'sending', 'sent', 'failed', 'answered')),
    not_before   timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    lease_owner  text,
    lease_until  timestamptz,
    message_id   bigint,                   -- the Bot API's answer, once sent
    error        text,                     -- why it failed for good (403 blocked, 400 ...)
    webhook_body bytea,                    -- state 'answered': the body Telegram executed
    created_at   timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz,
    UNIQUE (update_id, seq)
);
-- Open rows only (partial): what the senders poll and how a chat's order is checked.
CREATE INDEX outbox_due ON outbox (destination, not_before)
    WHERE state IN ('pending', 'leased', 'sending');
CREATE INDEX outbox_chat_open ON outbox (chat_id, update_id, seq)
    WHERE state IN ('pending', 'leased', 'sending');
CREATE INDEX outbox_done_at ON outbox (done_at) WHERE done_at IS NOT NULL;

-- Retention of the other append-only tables and of conversation state.
CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
CREATE INDEX conversations_updated_at ON conversations (updated_at);

-- Lease up to p_limit due rows of p_destination to p_owner for p_lease_s seconds: a row is
-- due when pending and past not_before, or when its lease expired (its sender died). Only a
-- chat's first open row is ever due, so a chat's calls leave in (update_id, seq) order
-- whatever the number of senders. `in_doubt`: the row was taken over in state 'sending', so
-- its call may have gone out already (the documented duplicate window).
CREATE FUNCTION outbox_lease(p_destination text, p_owner text, p_limit integer, p_lease_s float8)
RETURNS TABLE (id bigint, update_id bigint, seq smallint, method text, params json,
               chat_id bigint, rate_keys text[], attempts integer, in_doubt boolean)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT o.id, o.state FROM outbox AS o
        WHERE o.destination = p_destination
          AND o.state IN ('pending', 'leased', 'sending')
          AND o.not_before <= now()
          AND (o.state = 'pending' OR o.lease_until < now())
          AND NOT EXISTS (
              SELECT 1 FROM outbox AS p
              WHERE p.chat_id = o.chat_id AND p.state IN ('pending', 'leased', 'sending')
                AND (p.update_id, p.seq) < (o.update_id, o.seq))
        ORDER BY o.not_before
        LIMIT p_limit
        FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE outbox AS o
    SET state = 'leased', lease_owner = p_owner,
        lease_until = now() + make_interval(secs => p_lease_s), attempts = o.attempts + 1
    FROM due WHERE o.id = due.id
    RETURNING o.id, o.update_id, o.seq, o.method, o.params, o.chat_id, o.rate_keys, o.attempts,
              due.state = 'sending';
END $$;

-- Take a send slot on every key at once, or nothing: a refusal spends no budget. Each key's
-- slots are its interval apart across the fleet (database clock). The common slot is the
-- earliest free slot of every key, and not before p_after_s seconds from now; when it is at most
-- p_max_wait seconds away, every key's last slot moves to it and `taken` is true; `delay` is the
-- seconds until it (refused: until it would have been). p_count > 1 takes that many consecutive
-- slots (a sender's block of the global budget: one statement for many sends). Keys are locked
-- in sorted order, so concurrent takers cannot deadlock. With p_outbox_id, the row turns
-- 'sending' in the same statement: from here on its call may be out.
CREATE FUNCTION take_slots(p_keys text[], p_intervals float8[], p_max_wait float8,
                           p_outbox_id bigint DEFAULT NULL, p_after_s float8 DEFAULT 0,
                           p_count integer DEFAULT 1, OUT taken boolean, OUT delay float8)
LANGUAGE plpgsql AS $$
DECLARE
    now_s float8 := extract(epoch FROM clock_timestamp());
BEGIN
    INSERT INTO rate_slots (key, last_at, interval_s)
    SELECT k, now_s - i, i FROM unnest(p_keys, p_intervals) AS t(k, i)
    ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM rate_slots AS r WHERE r.key = ANY(p_keys) ORDER BY r.key FOR UPDATE;
    SELECT greatest(max(r.last_at + t.i), now_s + p_after_s) - now_s INTO delay
    FROM rate_slots AS r JOIN unnest(p_keys, p_intervals) AS t(k, i) ON r.key = t.k;
    delay := coalesce(delay, greatest(p_after_s, 0));
    taken := delay <= p_max_wait;
    IF taken THEN
        UPDATE rate_slots AS r SET last_at = now_s + delay + (p_count - 1) * t.i, interval_s = t.i
        FROM unnest(p_keys, p_intervals) AS t(k, i) WHERE r.key = t.k;
        IF p_outbox_id IS NOT NULL THEN
            UPDATE outbox SET state = 'sending' WHERE outbox.id = p_outbox_id;
        END IF;
    END IF;
END $$;
