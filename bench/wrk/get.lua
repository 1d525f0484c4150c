-- GET requests; with BENCH_PATHS ("/a|/b|/c") each connection goes round the
-- paths in turn, otherwise the URL's own path is used.
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require("report")

local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS") or "", "[^|]+") do
  paths[#paths + 1] = path
end
local turn = 0

function request()
  if #paths == 0 then
    return wrk.format("GET")
  end
  turn = turn % #paths + 1
  return wrk.format("GET", paths[turn])
end

done = report.done
