-- POST BODY (a form) to the URL, spread over SPREAD's replicas if set
-- (lua/spread.lua): bench/run's replicas section, client_credentials.
dofile("bench/lua/spread.lua")
local threads = 0
function setup(thread)
  spread(thread, threads)
  threads = threads + 1
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = os.getenv("BODY")
