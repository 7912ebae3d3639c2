-- tgscale bot schema, version 1. Applied once by `python -m bot migrate` (under an advisory lock).

-- Exactly-once effects: an update's id is inserted in the same transaction as its writes.
CREATE TABLE processed_updates (
    update_id    bigint PRIMARY KEY,
    update_type  text NOT NULL,
    chat_id      bigint,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_updates_processed_at ON processed_updates (processed_at);

-- Payloads that can never be processed: answered 200 (a 4xx would block the chat) and kept here.
CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    reason      text NOT NULL,
    update_id   bigint,
    detail      text,
    body        bytea NOT NULL
);

CREATE TABLE users (
    user_id            bigint PRIMARY KEY,
    chat_id            bigint NOT NULL,
    first_name         text NOT NULL,
    username           text,
    language_code      text,
    started_at         timestamptz NOT NULL DEFAULT now(),
    messages           bigint NOT NULL DEFAULT 0,
    last_seen_at       timestamptz,
    blocked            boolean NOT NULL DEFAULT false,
    blocked_changed_at timestamptz
);

-- Conversation state: one row per (chat, user) while a multi-step dialogue is open.
CREATE TABLE conversations (
    chat_id    bigint NOT NULL,
    user_id    bigint NOT NULL,
    state      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, user_id)
);

CREATE TABLE notes (
    note_id    bigserial PRIMARY KEY,
    user_id    bigint NOT NULL,
    chat_id    bigint NOT NULL,
    message_id bigint NOT NULL,
    text       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at  timestamptz,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX notes_user ON notes (user_id, note_id);

CREATE TABLE photos (
    update_id  bigint PRIMARY KEY,
    user_id    bigint,
    chat_id    bigint NOT NULL,
    file_id    text NOT NULL,
    size_bytes bigint NOT NULL,
    sha256     text NOT NULL,
    format     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- What was sent for which update, committed with the update's effects after the send succeeded.
CREATE TABLE sent_replies (
    update_id      bigint NOT NULL,
    seq            smallint NOT NULL,
    method         text NOT NULL,
    chat_id        bigint,
    sent_message_id bigint,
    error          text,  -- set when the Bot API refused the call for good (e.g. 403 blocked)
    sent_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (update_id, seq)
);
CREATE INDEX sent_replies_sent_at ON sent_replies (sent_at);

-- Fleet-wide outgoing rate limiter: the last reserved send slot per key (epoch seconds, DB
-- clock); the next slot is at least interval_s later.
CREATE TABLE rate_slots (
    key        text PRIMARY KEY,
    last_at    double precision NOT NULL,
    interval_s double precision NOT NULL
);
