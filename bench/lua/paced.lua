-- POST BODY (a form) to the URL, each connection waiting DELAY_MS between
-- its requests, so C connections offer about C / DELAY_MS requests a
-- millisecond whatever the answers (bench/hardening's overload section).
-- Counts the answers by kind and prints them at the end as key=value.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = os.getenv("BODY")
local pause = tonumber(os.getenv("DELAY_MS") or "0")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init()
  ok, shed, shed_without_retry_after, other = 0, 0, 0, 0
end

function delay()
  return pause
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 503 then
    if headers["retry-after"] or headers["Retry-After"] then
      shed = shed + 1
    else
      shed_without_retry_after = shed_without_retry_after + 1
    end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t = { ok = 0, shed = 0, shed_without_retry_after = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do
      t[key] = t[key] + thread:get(key)
    end
  end
  for key, value in pairs(t) do
    io.write(string.format("%s=%d\n", key, value))
  end
end
