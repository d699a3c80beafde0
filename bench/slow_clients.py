#!/usr/bin/env python3
"""Holds N slow or idle connections open against a server, as an attacker
would, reopening each one the server closes, until SIGTERM; then prints
what happened as `key=value` lines (bench/hardening reads them).

    slow_clients.py HOST PORT TENANT N

A third of the connections each:
  idle     connect and send nothing;
  headers  send a request head a byte a second, never finishing it;
  body     send a whole token-request head (Content-Length: 1000), then
           its body a byte a second.
"""
import asyncio
import signal
import sys
import time

HOST, PORT, TENANT, N = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
KINDS = ("idle", "headers", "body")
stats = {f"{k}.{w}": 0 for k in KINDS for w in ("opened", "closed_by_server", "answered")}
stats["open_failures"] = 0
open_now = 0
peak_open = 0
stopping = asyncio.Event()


def head(kind):
    full = (
        f"POST /{TENANT}/oauth2/token HTTP/1.1\r\nhost: {HOST}:{PORT}\r\n"
        "content-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\n"
    ).encode()
    return {"idle": b"", "headers": b"", "body": full}[kind], full


async def one(kind):
    """One connection slot: open, dawdle until the server closes, reopen."""
    global open_now, peak_open
    while not stopping.is_set():
        try:
            reader, writer = await asyncio.open_connection(HOST, PORT)
        except OSError:
            stats["open_failures"] += 1
            await asyncio.sleep(0.2)
            continue
        stats[f"{kind}.opened"] += 1
        open_now += 1
        peak_open = max(peak_open, open_now)
        first, full = head(kind)
        try:
            if first:
                writer.write(first)
            trickle = full if kind == "headers" else b"x" * 1000
            sent = 0
            while not stopping.is_set():
                # A closed connection reads as EOF (b"") or an error.
                try:
                    data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                except asyncio.TimeoutError:
                    data = None
                if data == b"":
                    stats[f"{kind}.closed_by_server"] += 1
                    break
                if data:
                    stats[f"{kind}.answered"] += 1
                    continue
                if kind != "idle" and sent < len(trickle) - 1:
                    writer.write(trickle[sent:sent + 1])
                    sent += 1
                    await writer.drain()
        except (ConnectionError, OSError):
            stats[f"{kind}.closed_by_server"] += 1
        finally:
            open_now -= 1
            writer.close()


async def main():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    tasks = []
    for i in range(N):
        tasks.append(asyncio.create_task(one(KINDS[i % 3])))
        if i % 100 == 99:
            await asyncio.sleep(0.05)  # no SYN flood: the backlog is not the subject
    started = time.monotonic()
    # Report how many are open, once a second, on stderr.
    while not stopping.is_set():
        print(f"{time.monotonic() - started:.0f}s open={open_now}", file=sys.stderr, flush=True)
        try:
            await asyncio.wait_for(stopping.wait(), timeout=1.0)
        except asyncio.TimeoutError:
            pass
    await asyncio.gather(*tasks, return_exceptions=True)
    stats["peak_open"] = peak_open
    for key, value in stats.items():
        print(f"{key}={value}")


asyncio.run(main())
