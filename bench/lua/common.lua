-- Shared by the wrk scripts: count answers by status per thread, and print one
-- machine-readable line at the end that bench/run.py parses.
local M = {}

local threads = {}

function M.setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function M.lines(path)
  local values = {}
  for line in io.lines(path) do
    if line ~= "" then values[#values + 1] = line end
  end
  return values
end

function M.done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses") or {}
    for status, count in pairs(counted) do
      statuses[status] = (statuses[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(statuses) do
    parts[#parts + 1] = string.format('"%s":%d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.connect + errors.read + errors.write + errors.timeout,
    table.concat(parts, ",")))
end

return M
