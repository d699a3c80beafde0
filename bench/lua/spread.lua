-- Spreads wrk's threads over several replicas, as an L4 load balancer
-- spreads connections: SPREAD="HOST:PORT HOST:PORT …", thread i connects to
-- replica i mod n, all its connections (keep-alive) with it. wrk fixes a
-- thread's address for its whole run (a connection cannot change replica
-- between requests), so the unit spread is the thread: THREADS should be
-- a multiple of the number of replicas. Without SPREAD, nothing changes.
-- bench/run's replicas section uses it; the scripts dofile it.
function spread(thread, i)
  local list = os.getenv("SPREAD")
  if not list or list == "" then return end
  local addrs = {}
  for hostport in list:gmatch("%S+") do
    local host, port = hostport:match("^(.*):(%d+)$")
    addrs[#addrs + 1] = wrk.lookup(host, port)[1]
  end
  thread.addr = addrs[i % #addrs + 1]
end
