-- The refresh path: each request rotates a refresh token of the pool in
-- TOKENS (the answers of lua/redeem-codes.lua, each of its own family) and
-- none is sent twice. Thread i takes every THREADS-th token; a thread that
-- runs out stops, and wrk's rate is then the tokens rotated over the time
-- taken.
dofile("bench/lua/spread.lua") -- SPREAD: several replicas
local threads = 0
function setup(thread)
  spread(thread, threads)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  local n, i = tonumber(os.getenv("THREADS")), 0
  tokens = {}
  for line in io.lines(os.getenv("TOKENS")) do
    if i % n == id then tokens[#tokens + 1] = line end
    i = i + 1
  end
  next_token = 0
  prefix = os.getenv("BODY") .. "&refresh_token="
end
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
function request()
  next_token = next_token + 1
  if next_token > #tokens then
    wrk.thread:stop()
    next_token = #tokens -- what is in flight now presents a rotated token
  end
  return wrk.format("POST", nil, headers, prefix .. tokens[next_token])
end
