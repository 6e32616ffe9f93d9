-- wrk scenario for `make bench` (scripts/bench/bench.py builds the arguments).
--   wrk ... -s wrk_scenario.lua URL -- get  PATH [PATH ...]        (random path per request)
--   wrk ... -s wrk_scenario.lua URL -- post PATH BODYFILE NONCE IDS HEADER=VALUE ...
-- For "post", every request gets its own Idempotency-Key (NONCE-thread-counter), and the body's
-- %ID1% and %ID2% are replaced by two different random entries of IDS (comma-separated; "-" for none).
-- done() prints one line "WRK_JSON {...}" with counts, status codes and latency percentiles.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local mode, paths, body, nonce, headers, ids = nil, {}, nil, nil, {}, {}
local counter = 0
codes = {}

function init(args)
  mode = args[1]
  if mode == "get" then
    for i = 2, #args do table.insert(paths, args[i]) end
  elseif mode == "post" then
    paths = { args[2] }
    local f = assert(io.open(args[3], "rb"))
    body = f:read("*a")
    f:close()
    nonce = args[4]
    if args[5] ~= "-" then
      for id in string.gmatch(args[5], "[^,]+") do table.insert(ids, id) end
    end
    for i = 6, #args do
      local k, v = string.match(args[i], "^([^=]+)=(.*)$")
      headers[k] = v
    end
    headers["Content-Type"] = "application/json"
  else
    error("unknown mode " .. tostring(mode))
  end
  math.randomseed(os.time() + (tid or 0))
end

function request()
  if mode == "get" then
    return wrk.format("GET", paths[math.random(#paths)])
  end
  counter = counter + 1
  headers["Idempotency-Key"] = nonce .. "-" .. tostring(tid) .. "-" .. tostring(counter)
  local payload = body
  if #ids >= 2 then
    local a = math.random(#ids)
    local b = math.random(#ids - 1)
    if b >= a then b = b + 1 end
    payload = string.gsub(string.gsub(body, "%%ID1%%", ids[a]), "%%ID2%%", ids[b])
  end
  return wrk.format("POST", paths[1], headers, payload)
end

function response(status, _, _)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, _)
  local merged = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    for k, v in pairs(c) do merged[tostring(k)] = (merged[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"codes": {%s}, "latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", "),
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
