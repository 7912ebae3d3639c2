-- tgscale bot schema, version 2: replies answered in the webhook response body (BOT_REPLY_VIA=webhook).
-- The exact body is kept with the update's record, so a redelivery (Telegram never received
-- the first answer) gets the same body again: the reply is executed once in effect.
ALTER TABLE sent_replies ADD COLUMN webhook_body bytea;  -- NULL: sent through the Bot API
