#!/usr/bin/env python3
"""Right after an overload stops: sequential token requests for SECONDS,
each on a new connection, printing key=value lines: how long after the
start the first 200 came, how many of each status, and the p50/p99 of the
answers (bench/hardening's overload section).

    recovery_probe.py URL BODY SECONDS
"""
import http.client
import sys
import time
import urllib.parse

url, body, seconds = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
parts = urllib.parse.urlsplit(url)
start = time.monotonic()
first_ok = None
statuses = {}
latencies = []
while time.monotonic() - start < seconds:
    sent = time.monotonic()
    try:
        c = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        c.request("POST", parts.path, body, {"content-type": "application/x-www-form-urlencoded"})
        status = c.getresponse().status
        c.close()
    except OSError:
        status = 0
    now = time.monotonic()
    latencies.append(now - sent)
    statuses[status] = statuses.get(status, 0) + 1
    if status == 200 and first_ok is None:
        first_ok = now - start
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
print(f"first_200_after_ms={first_ok * 1000 if first_ok is not None else -1:.1f}")
for status, count in sorted(statuses.items()):
    print(f"status_{status}={count}")
print(f"p50_ms={pick(0.50):.2f}")
print(f"p99_ms={pick(0.99):.2f}")
