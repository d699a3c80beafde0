-- GET /{tenant}/oauth2/authorize with a signed-in session (COOKIE) of a user
-- who consented: each answer is a redirect carrying a fresh code, appended
-- to CODES.<thread>. bench/run mints its pool of codes with this.
dofile("bench/lua/spread.lua") -- SPREAD: several replicas
local threads = 0
function setup(thread)
  spread(thread, threads)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  out = io.open(os.getenv("CODES") .. "." .. id, "w")
end
wrk.headers["Cookie"] = os.getenv("COOKIE")
function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  local code = location and location:match("[?&]code=([^&]+)")
  if code then out:write(code, "\n") end
end
