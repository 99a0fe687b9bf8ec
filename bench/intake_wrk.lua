-- wrk script for bench/intake_wrk.sh: POSTs valid citizen reports to the path
-- given on the command line, rotating over every district and a few
-- categories, and checks every answer.
--
--   wrk ... -s intake_wrk.lua http://host:port -- <path>
--
-- The requests are formatted once per thread, so the client does the same
-- (small) work for the baseline route and for the report route. done() prints
-- one line that intake_wrk.sh parses:
--   wrk-result rps=… p50_us=… p99_us=… requests=… non202=… accepted=…
--   queued=… other_body=… socket_errors=… first_bad=<status and body, %-escaped>

local districts = {
  "380", "381", "382", "384", "385", "386", "387", "388", "389", "390", "391", "392", "393", "394",
  "395", "396", "397", "398", "399", "400", "401", "402", "403", "404", "405", "406", "407",
}
local categories = { "flood", "landslide", "fire", "traffic_accident", "road_damage" }

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1] or "/api/v1/reports"
  -- A minute in the past: inside intake.max_age and never in the future.
  local occurred_at = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 60)
  local headers = { ["Content-Type"] = "application/json" }
  requests_ = {}
  for i, d in ipairs(districts) do
    local c = categories[(i - 1) % #categories + 1]
    local lat = 19.4 + (i % 10) * 0.1
    local lon = 105.0 + (i % 7) * 0.1
    local body = string.format(
      '{"category":"%s","district":"%s","description":"load test report %d: water over the road near the market",'
        .. '"location":{"lat":%.3f,"lon":%.3f},"occurred_at":"%s"}',
      c, d, i, lat, lon, occurred_at)
    requests_[#requests_ + 1] = wrk.format("POST", path, headers, body)
  end
  next_ = 0
  non202 = 0
  accepted = 0
  queued = 0
  other_body = 0
  first_bad = ""
end

function request()
  next_ = next_ % #requests_ + 1
  return requests_[next_]
end

function response(status, headers, body)
  if status ~= 202 then
    non202 = non202 + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  elseif string.find(body, '"status":"accepted"', 1, true) then
    accepted = accepted + 1
  elseif string.find(body, '"status":"queued"', 1, true) then
    queued = queued + 1
  else
    other_body = other_body + 1
  end
end

function done(summary, latency, requests)
  local t = { non202 = 0, accepted = 0, queued = 0, other_body = 0 }
  local bad = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + thread:get(k)
    end
    local b = thread:get("first_bad")
    if bad == "" and b ~= nil then bad = b end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "wrk-result rps=%.1f p50_us=%d p99_us=%d requests=%d non202=%d accepted=%d queued=%d other_body=%d "
      .. "socket_errors=%d first_bad=%s\n",
    summary.requests / seconds, latency:percentile(50), latency:percentile(99), summary.requests,
    t.non202, t.accepted, t.queued, t.other_body, e.connect + e.read + e.write + e.timeout,
    (string.gsub(bad, "[%%%s]", function(ch) return string.format("%%%02X", string.byte(ch)) end))))
end
