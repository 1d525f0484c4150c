-- POST /api/v1/bookings: one hold per request on a session picked at random
-- from BENCH_SESSION_IDS ("12,13,14"), BENCH_SEATS seats (default 1), and a
-- contact email no other request of any run uses (holds are limited per email).
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require("report")

local ids = {}
for id in string.gmatch(os.getenv("BENCH_SESSION_IDS") or "", "%d+") do
  ids[#ids + 1] = id
end
assert(#ids > 0, "BENCH_SESSION_IDS is empty")
local seats = tonumber(os.getenv("BENCH_SEATS") or "1")
local run = os.getenv("BENCH_RUN_ID") or tostring(os.time())
local attendees = {}
for i = 1, seats do
  attendees[i] = string.format('{"name": "Bench Learner %s", "email": ""}', string.char(64 + i))
end
attendees = table.concat(attendees, ", ")

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

local sent = 0
function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

local headers = {["Content-Type"] = "application/json"}
function request()
  sent = sent + 1
  local email = string.format("bench-%s-%d-%d@example.com", run, thread_number or 0, sent)
  local body = string.format(
    '{"session_id": %s, "contact": {"name": "Bench Client", "email": "%s", ' ..
    '"phone": "07700 900123", "postcode": "LS1 4AP", "company": ""}, "attendees": [%s], "accept_terms": true}',
    ids[math.random(#ids)], email, attendees)
  return wrk.format("POST", "/api/v1/bookings", headers, body)
end

done = report.done
