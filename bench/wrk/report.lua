-- Shared by every wrk script: done() writes the run's figures as JSON to the
-- file named by BENCH_WRK_OUT (latencies in milliseconds). wrk counts a status
-- of 400 or more, and every socket error, in summary.errors.
local M = {}

function M.done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local function ms(us) return us / 1000 end
  local json = string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.2f, "bytes": %d, ' ..
    '"latency_ms": {"p50": %.3f, "p90": %.3f, "p95": %.3f, "p99": %.3f, "max": %.3f, "mean": %.3f}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(95)),
    ms(latency:percentile(99)), ms(latency.max), ms(latency.mean),
    e.connect, e.read, e.write, e.status, e.timeout)
  local path = os.getenv("BENCH_WRK_OUT")
  if path then
    local file = assert(io.open(path, "w"))
    file:write(json)
    file:close()
  else
    io.write(json .. "\n")
  end
end

return M
