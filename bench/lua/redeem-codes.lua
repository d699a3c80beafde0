-- The authorization-code redemption path: each request redeems a code of
-- the pool in CODES (single use, so none is sent twice). Thread i takes
-- every THREADS-th code; a thread that runs out stops, and wrk's rate is
-- then the codes redeemed over the time taken. With REFRESH_TOKENS set,
-- the refresh token of each answer is appended to REFRESH_TOKENS.<thread>:
-- the pool of lua/rotate-refresh.lua.
dofile("bench/lua/spread.lua") -- SPREAD: several replicas
local threads = 0
function setup(thread)
  spread(thread, threads)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  local n, i = tonumber(os.getenv("THREADS")), 0
  codes = {}
  for line in io.lines(os.getenv("CODES")) do
    if i % n == id then codes[#codes + 1] = line end
    i = i + 1
  end
  next_code = 0
  prefix = os.getenv("BODY") .. "&code="
  if os.getenv("REFRESH_TOKENS") then
    kept = io.open(os.getenv("REFRESH_TOKENS") .. "." .. id, "w")
  end
end
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
function request()
  next_code = next_code + 1
  if next_code > #codes then
    wrk.thread:stop()
    next_code = #codes -- what is in flight now is answered 400 (already redeemed)
  end
  return wrk.format("POST", nil, headers, prefix .. codes[next_code])
end
-- Only when keeping them: a script with a response() gets every body.
if os.getenv("REFRESH_TOKENS") then
  function response(status, headers, body)
    if status == 200 then
      local token = body:match('"refresh_token":"([^"]+)"')
      if token then kept:write(token, "\n") end
    end
  end
end
