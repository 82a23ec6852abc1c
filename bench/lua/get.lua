-- GET each path of a file in turn (one path per line), e.g. product pages or list pages.
-- Arguments: <paths file>
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
local common = require("common")

setup = common.setup
done = common.done

local paths, counter, stride
statuses = {}

function init(args)
  paths = common.lines(args[1])
  stride = tonumber(os.getenv("WRK_THREADS") or "1")
  counter = thread_index
end

function request()
  local path = paths[(counter % #paths) + 1]
  counter = counter + stride
  return wrk.format("GET", path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
