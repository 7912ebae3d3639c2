-- wrk script: realistic Telegram text-message updates, one unique update_id per request, from
-- private chats drawn from a Zipf population (BENCH_CHATS chats, exponent BENCH_ZIPF_S), so
-- chats repeat and the per-chat limiter is exercised (a reply to a chat that had one less than
-- 1 s ago waits in the outbox; the webhook's answer never waits for it).
-- Environment: BENCH_SECRET (webhook secret), BENCH_UPDATE_BASE (first update_id),
-- BENCH_DELAY_MS (think time per connection between requests: a paced load; 0 = flat out),
-- BENCH_CHATS (200000), BENCH_ZIPF_S (0.6).
local counter = tonumber(os.getenv("BENCH_UPDATE_BASE") or "1")
local secret = os.getenv("BENCH_SECRET") or ""
local texts = {
  "hello there", "what is the weather like today?", "ok", "thanks a lot!",
  "can you remind me about the meeting tomorrow at 10?", "lol", "see you later",
  "I sent the photo yesterday, did you get it?",
}
local think = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local chats = tonumber(os.getenv("BENCH_CHATS") or "200000")
local zipf_s = tonumber(os.getenv("BENCH_ZIPF_S") or "0.6")
math.randomseed(counter)

-- The Zipf CDF over ranks 1..chats, sampled by binary search.
local cdf, total = {}, 0
for k = 1, chats do
  total = total + k ^ (-zipf_s)
  cdf[k] = total
end
local function zipf_rank()
  local u, lo, hi = math.random() * total, 1, chats
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

if think > 0 then
  -- Uniform in [0, 2*think]: the connections drift apart instead of arriving in bursts of 40.
  delay = function()
    return math.random() * 2 * think
  end
end

request = function()
  counter = counter + 1
  local user = 100000 + zipf_rank()
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

done = function(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
