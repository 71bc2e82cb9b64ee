-- wrk script for the weather-app benchmarks. WRK_REQUESTS holds one request a line, "METHOD PATH [FORM_BODY]".
-- One request is sent as wrk's static request (its fastest path); several are cycled on every connection.
-- At the end it prints one machine-readable line for the bench.
local function parse(line)
  local method, path, body = string.match(line, "^(%S+)%s+(%S+)%s*(.*)$")
  local headers = {}
  if body == "" then
    body = nil
  else
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  return method, path, headers, body
end

local lines = {}
for line in string.gmatch(os.getenv("WRK_REQUESTS") or "GET /", "[^\n]+") do
  table.insert(lines, line)
end

if #lines == 1 then
  wrk.method, wrk.path, wrk.headers, wrk.body = parse(lines[1])
else
  local requests = {}
  -- In init, not at load time: wrk.format only knows the Host header from then on.
  init = function()
    for _, line in ipairs(lines) do
      table.insert(requests, wrk.format(parse(line)))
    end
  end
  local next_request = 0
  request = function()
    next_request = next_request % #requests + 1
    return requests[next_request]
  end
end

done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
