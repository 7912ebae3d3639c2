-- tgscale bot schema, version 3: the per-update claim and the rate-slot reservation as functions.
-- As one CTE sent with each update, the claim was parsed and planned by PostgreSQL every time:
-- about 100 µs of server CPU, twice the rest of an update's database work. PL/pgSQL keeps the
-- plans of its statements per connection, which also holds through PgBouncer in transaction
-- mode (unlike prepared statements before PgBouncer 1.21). Measured in bot/README.md.

-- Reserve the next send slot on up to two keys at once (chat, then group: always this scope
-- order, so concurrent reservations cannot deadlock). Each key's slots are interval apart across
-- the fleet, on the database clock; returns the seconds until the later of the reserved slots.
CREATE FUNCTION reserve_slots(p_key0 text, p_interval0 float8, p_key1 text, p_interval1 float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    delay float8;
BEGIN
    WITH slot AS (
        INSERT INTO rate_slots AS r (key, last_at, interval_s)
        SELECT k, extract(epoch FROM statement_timestamp()), i
        FROM (VALUES (p_key0, p_interval0), (p_key1, p_interval1)) AS t(k, i)
        WHERE k IS NOT NULL
        ON CONFLICT (key) DO UPDATE
        SET last_at = greatest(r.last_at + excluded.interval_s, excluded.last_at),
            interval_s = excluded.interval_s
        RETURNING r.last_at - extract(epoch FROM statement_timestamp()) AS d
    )
    SELECT coalesce(max(d), 0) INTO delay FROM slot;
    RETURN greatest(delay, 0);
END $$;

-- Open an update's effects: claim its update_id (false for a duplicate: the id is committed
-- already; a concurrent delivery of the same id waits on the unique key until the first one's
-- transaction ends), reserve its send slot only when claimed, and read the (chat, user)
-- conversation state. Must run inside the update's transaction.
CREATE FUNCTION claim_delivery(
    p_update_id bigint, p_update_type text, p_chat_id bigint, p_user_id bigint,
    p_key0 text, p_interval0 float8, p_key1 text, p_interval1 float8,
    OUT claimed boolean, OUT delay float8, OUT conversation text
) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO processed_updates (update_id, update_type, chat_id)
    VALUES (p_update_id, p_update_type, p_chat_id)
    ON CONFLICT (update_id) DO NOTHING;
    claimed := FOUND;
    delay := 0;
    IF claimed AND (p_key0 IS NOT NULL OR p_key1 IS NOT NULL) THEN
        delay := reserve_slots(p_key0, p_interval0, p_key1, p_interval1);
    END IF;
    SELECT c.state INTO conversation FROM conversations AS c
    WHERE c.chat_id = p_chat_id AND c.user_id = p_user_id;
END $$;
