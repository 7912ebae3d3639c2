-- wrk script: realistic Telegram text-message updates, one unique update_id per request, each
-- from its own private chat. The bot still reserves a per-chat send slot for every reply, but
-- no slot is ever taken, so the 1 msg/s per-chat limit is not what is measured: a random chat
-- out of millions repeats within a second a few times per run (the birthday paradox), that
-- reply rightly waits up to 1 s, and wrk's coordinated-omission correction turns each such
-- wait into about a hundred synthetic samples, pushing p99 to hundreds of ms.
-- Environment: BENCH_SECRET (webhook secret), BENCH_UPDATE_BASE (first update_id),
-- BENCH_DELAY_MS (think time per connection between requests: a paced load; 0 = flat out).
local counter = tonumber(os.getenv("BENCH_UPDATE_BASE") or "1")
local secret = os.getenv("BENCH_SECRET") or ""
local texts = {
  "hello there", "what is the weather like today?", "ok", "thanks a lot!",
  "can you remind me about the meeting tomorrow at 10?", "lol", "see you later",
  "I sent the photo yesterday, did you get it?",
}
local think = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
math.randomseed(counter)

if think > 0 then
  -- Uniform in [0, 2*think]: the connections drift apart instead of arriving in bursts of 40.
  delay = function()
    return math.random() * 2 * think
  end
end

request = function()
  counter = counter + 1
  local user = 100000 + counter  -- the runs' update_id ranges are disjoint, so are the chats
  local text = texts[(counter % #texts) + 1]
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,' ..
    '"first_name":"User%d","username":"user%d","language_code":"en"},' ..
    '"chat":{"id":%d,"first_name":"User%d","username":"user%d","type":"private"},' ..
    '"date":%d,"text":"%s"}}',
    counter, counter % 100000 + 1, user, user, user, user, user, user, os.time(), text)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = secret,
  }, body)
end
