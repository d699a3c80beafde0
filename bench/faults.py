#!/usr/bin/env python3
"""bench/faults.py [CYCLES] [LATCHKEY_BIN]

The kill -9 fault suite (issue 14): CYCLES times (default 200), `latchkey
serve` on one SQLite data directory issues under a mixed load (client
credentials, password grants, refreshes, authorization codes minted and
redeemed) from concurrent clients, is killed with SIGKILL at a random
moment, and starts again. After every restart:

- every refresh token a client was answered with (a complete 200 body)
  refreshes (else it was LOST);
- every code whose redemption was answered, and a sample of the refresh
  tokens answered as rotated out, are refused (else a DOUBLE use).

A request cut by the kill was not answered: its token's family is
uncertain (the server may have rotated it) and is set aside, never
counted. Prints the counts and exits non-zero on any loss or double use.
`ENGINE=postgres PG_URL=postgres://postgres@127.0.0.1:5432/latchkey_faults`
runs it on PostgreSQL instead (the database is made again).
"""
import html
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

CYCLES = int(sys.argv[1]) if len(sys.argv) > 1 else 200
BIN = sys.argv[2] if len(sys.argv) > 2 else "target/release/latchkey"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests/fixtures/directory.toml")
# Strict rotation (refresh_token_reuse_seconds = 0): a token answered as
# rotated out must be refused however soon after the restart it is tried.
DIRECTORY = os.path.join(tempfile.mkdtemp(prefix="latchkey-faults-"), "directory.toml")
with open(FIXTURE) as fixture, open(DIRECTORY, "w") as strict:
    strict.write(fixture.read().replace(
        'domains = ["contoso.example"]\n',
        'domains = ["contoso.example"]\nrefresh_token_reuse_seconds = 0\n', 1))
TENANT = "7fe81447-da57-4385-becb-6de57f21477e"
WEB = "2d4d11a2-f814-46a7-890a-274a72a7309e"
SECRET = "web-secret-0123456789-abcdefghijklmnop"
CALLBACK = "http://localhost:5000/callback"
FILES = "https://files.contoso.example/"
WORKERS = 6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cut(Exception):
    """The connection failed: no answer."""


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    except (OSError, http.client.HTTPException) as e:
        raise Cut(str(e))
    finally:
        conn.close()


def token(port, params):
    body = urllib.parse.urlencode({"client_id": WEB, "client_secret": SECRET, **params})
    status, _, data = call(port, "POST", f"/{TENANT}/oauth2/token", body,
                           {"Content-Type": "application/x-www-form-urlencoded"})
    try:
        return status, json.loads(data)
    except ValueError:
        raise Cut(f"HTTP {status} with a body that is not JSON")


AUTHORIZE = f"/{TENANT}/oauth2/authorize?" + urllib.parse.urlencode({
    "client_id": WEB, "redirect_uri": CALLBACK, "response_type": "code",
    "resource": FILES, "scope": "Files.Read"})


def sign_in(port):
    """Frank's session cookie header, through the pages as a browser."""
    cookies = {}

    def request(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body, {**(headers or {}), **({"Cookie": cookie} if cookie else {})})
        r = conn.getresponse()
        data = r.read().decode()
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                k, v = value.split(";", 1)[0].split("=", 1)
                cookies[k] = v
        conn.close()
        return r.status, data

    _, page = request("GET", AUTHORIZE)
    form = re.search(r'<form method="post" action="([^"]*)">(.*?)</form>', page, re.S)
    fields = [(n, html.unescape(v)) for n, v in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', form.group(2))]
    fields += [("username", "frank@contoso.example"), ("password", "frank-password")]
    status, _ = request("POST", html.unescape(form.group(1)), urllib.parse.urlencode(fields),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 303:
        sys.exit(f"sign-in answered {status}")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


class Ledger:
    """What clients were answered, by refresh-token family."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next_family = 0
        self.live = {}        # refresh token -> family
        self.spent = []       # (refresh token, family): answered as rotated out
        self.codes = []       # (code, family): redemption answered
        self.uncertain = set()  # families a cut request may have changed
        self.lost = []
        self.double = []
        self.answered = 0

    def family(self):
        with self.lock:
            self.next_family += 1
            return self.next_family

    def take_live(self):
        with self.lock:
            candidates = [t for t, f in self.live.items() if f not in self.uncertain]
            if not candidates:
                return None, None
            t = random.choice(candidates)
            return t, self.live.pop(t)


def worker(port, cookie, ledger, stop):
    while not stop.is_set():
        kind = random.choice(["client_credentials", "password", "refresh", "refresh", "code"])
        family = None
        try:
            if kind == "client_credentials":
                status, _ = token(port, {"grant_type": "client_credentials", "resource": FILES})
                if status != 200:
                    ledger.lost.append(f"client_credentials answered {status}")
            elif kind == "password":
                family = ledger.family()
                status, body = token(port, {"grant_type": "password", "resource": FILES,
                                            "username": "frank@contoso.example",
                                            "password": "frank-password"})
                if status != 200:
                    ledger.lost.append(f"password grant answered {status}: {body}")
                    continue
                with ledger.lock:
                    ledger.live[body["refresh_token"]] = family
                    ledger.answered += 1
            elif kind == "refresh":
                rt, family = ledger.take_live()
                if rt is None:
                    continue
                status, body = token(port, {"grant_type": "refresh_token", "refresh_token": rt})
                with ledger.lock:
                    if status != 200:
                        ledger.lost.append(f"an answered refresh token was refused: {body}")
                        continue
                    ledger.live[body["refresh_token"]] = family
                    ledger.spent.append((rt, family))
                    ledger.answered += 1
            else:
                status, headers, _ = call(port, "GET", AUTHORIZE, None, {"Cookie": cookie})
                location = headers.get("location", "")
                code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
                if not code:
                    continue
                family = ledger.family()
                status, body = token(port, {"grant_type": "authorization_code", "code": code[0],
                                            "redirect_uri": CALLBACK})
                if status != 200:
                    ledger.lost.append(f"a fresh code was refused: {body}")
                    continue
                with ledger.lock:
                    ledger.live[body["refresh_token"]] = family
                    ledger.codes.append((code[0], family))
                    ledger.answered += 1
        except Cut:
            if family is not None:
                with ledger.lock:
                    ledger.uncertain.add(family)
            if stop.is_set():
                return
            time.sleep(0.01)


def check_after_restart(port, ledger):
    """Every answered token works once; nothing answered as spent works."""
    with ledger.lock:
        live = [(t, f) for t, f in ledger.live.items() if f not in ledger.uncertain]
        codes = [(c, f) for c, f in ledger.codes if f not in ledger.uncertain]
        spent = [(t, f) for t, f in ledger.spent if f not in ledger.uncertain]
        ledger.live = {t: f for t, f in ledger.live.items() if f not in ledger.uncertain}
    for rt, family in live:
        status, body = token(port, {"grant_type": "refresh_token", "refresh_token": rt})
        if status != 200:
            ledger.lost.append(f"LOST: an answered refresh token after restart: {body}")
            continue
        with ledger.lock:
            ledger.live.pop(rt, None)
            ledger.live[body["refresh_token"]] = family
    # Replays revoke their family: check a few, then set the family aside.
    for code, family in random.sample(codes, min(3, len(codes))):
        status, body = token(port, {"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": CALLBACK})
        if status == 200:
            ledger.double.append(f"DOUBLE: a code redeemed twice")
        ledger.uncertain.add(family)
    for rt, family in random.sample(spent, min(3, len(spent))):
        status, body = token(port, {"grant_type": "refresh_token", "refresh_token": rt})
        if status == 200:
            ledger.double.append("DOUBLE: a rotated-out refresh token refreshed")
        ledger.uncertain.add(family)
    with ledger.lock:
        ledger.codes = [(c, f) for c, f in ledger.codes if f not in ledger.uncertain][-200:]
        ledger.spent = [(t, f) for t, f in ledger.spent if f not in ledger.uncertain][-200:]
        # Each token is checked once after a restart; keep the newest few
        # hundred families going so that a cycle's checks stay short.
        if len(ledger.live) > 300:
            ledger.live = dict(list(ledger.live.items())[-300:])


def database_args(data):
    if os.environ.get("ENGINE") != "postgres":
        return ["--data", data]
    url = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/latchkey_faults")
    return ["--data", data, "--database", url]


def reset_postgres():
    if os.environ.get("ENGINE") != "postgres":
        return
    url = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/latchkey_faults")
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}",
                    "-c", f"CREATE DATABASE {name}"], check=True)


def start(port, data):
    proc = subprocess.Popen(
        [BIN, "serve", "--directory", DIRECTORY, "--listen", f"127.0.0.1:{port}",
         "--password-burst-per-ip", "1000000", *database_args(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            status, _, _ = call(port, "GET", f"/{TENANT}/.well-known/openid-configuration")
            if status == 200:
                return proc
        except Cut:
            time.sleep(0.05)
    proc.kill()
    sys.exit("serve did not start")


def main():
    data = tempfile.mkdtemp(prefix="lk-faults-")
    reset_postgres()
    port = free_port()
    ledger = Ledger()
    started = time.time()
    try:
        for cycle in range(CYCLES):
            proc = start(port, data)
            if cycle:
                check_after_restart(port, ledger)
            cookie = sign_in(port)
            stop = threading.Event()
            threads = [threading.Thread(target=worker, args=(port, cookie, ledger, stop))
                       for _ in range(WORKERS)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.2, 1.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            stop.set()
            for t in threads:
                t.join()
            if ledger.lost or ledger.double:
                break
            if cycle % 20 == 0:
                print(f"cycle {cycle}: {ledger.answered} answered, {len(ledger.live)} live, "
                      f"{len(ledger.uncertain)} families set aside", flush=True)
        proc = start(port, data)
        check_after_restart(port, ledger)
        proc.terminate()
        proc.wait()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"{CYCLES} kill -9 cycles in {time.time() - started:.0f} s: {ledger.answered} grants answered, "
          f"{len(ledger.lost)} lost, {len(ledger.double)} double uses, "
          f"{len(ledger.uncertain)} families set aside (a request cut by the kill)")
    for line in (ledger.lost + ledger.double)[:10]:
        print(" ", line)
    sys.exit(1 if ledger.lost or ledger.double else 0)


if __name__ == "__main__":
    main()
