-- POST /api/v1/orders (WALLET, one unit), a different buyer on every request.
-- Arguments: <tokens file> <products file> [idempotency]
--   tokens: one access token per line, one buyer each; products: one product id per line.
-- Request k of thread t (of T) is global number g = k*T + t: buyer g mod #buyers, product
-- (g + g div #buyers) mod #products, so with one product every request buys it and with
-- as many products as buyers each buyer walks through all of them.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
local common = require("common")

setup = common.setup
done = common.done

local tokens, products, counter, stride, with_key
statuses = {}

function init(args)
  tokens = common.lines(args[1])
  products = common.lines(args[2])
  with_key = args[3] == "idempotency"
  stride = tonumber(os.getenv("WRK_THREADS") or "1")
  counter = thread_index
end

function request()
  local g = counter
  counter = counter + stride
  local buyer = g % #tokens
  local product = (g + math.floor(g / #tokens)) % #products
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[buyer + 1],
    ["Content-Type"] = "application/json",
  }
  if with_key then
    headers["Idempotency-Key"] = string.format("bench-%d-%d", thread_index, g)
  end
  local body = '{"productId":"' .. products[product + 1] .. '","paymentMethod":"WALLET","quantity":1}'
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
