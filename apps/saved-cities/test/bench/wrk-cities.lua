-- wrk script for the saved-cities bench. MODE=list: GET one user's first page. MODE=add: POST a new city per
-- request, each with its own Idempotency-Key, for one user per wrk thread (names are unique per thread).
-- At the end it prints one machine-readable line for the bench.
local mode = os.getenv("MODE") or "list"
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

-- A number as letters (names must be letters): 0 -> "a", 25 -> "z", 26 -> "ba".
local function letters(n)
  local out = ""
  repeat
    out = string.char(97 + n % 26) .. out
    n = math.floor(n / 26)
  until n == 0
  return out
end

function init(_)
  if mode == "list" then
    wrk.method = "GET"
    wrk.path = "/api/users/bench-list/cities?limit=20"
  end
end

function request()
  if mode == "list" then
    return wrk.format()
  end
  counter = counter + 1
  local name = "Town " .. letters(counter)
  local user = "bench-add-" .. tostring(thread_id)
  return wrk.format("POST", "/api/users/" .. user .. "/cities", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = user .. "-" .. tostring(counter),
  }, '{"name":"' .. name .. '"}')
end

done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
