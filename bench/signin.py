#!/usr/bin/env python3
"""bench/signin.py AUTHORIZE_URL USER PASSWORD

Signs USER in at Latchkey's authorize endpoint the way a browser does (the
sign-in page, its CSRF cookie and hidden fields, the POST) and prints the
Cookie header value that carries the session. With it, every further GET of
AUTHORIZE_URL answers a redirect with a fresh code (the user has consented),
which is how bench/run mints its pool of authorization codes.
"""
import html
import http.client
import re
import sys
import urllib.parse

url, user, password = sys.argv[1:4]
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(u.hostname, u.port)
path = f"{u.path}?{u.query}"

conn.request("GET", path)
r = conn.getresponse()
page = r.read().decode()
cookies = {}
for name, value in r.getheaders():
    if name.lower() == "set-cookie":
        k, v = value.split(";", 1)[0].split("=", 1)
        cookies[k] = v
if 'id="signin"' not in page:
    sys.exit(f"expected the sign-in page, got HTTP {r.status}")
form = re.search(r'<main id="signin">.*?</form>', page, re.S).group(0)
action = re.search(r'action="([^"]*)"', form).group(1)
fields = [(n, v) for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', form)]
fields = [(n, html.unescape(v)) for n, v in fields]
fields += [("username", user), ("password", password)]
cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
conn.request("POST", html.unescape(action), urllib.parse.urlencode(fields),
             {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
r = conn.getresponse()
r.read()
for name, value in r.getheaders():
    if name.lower() == "set-cookie":
        k, v = value.split(";", 1)[0].split("=", 1)
        cookies[k] = v
if r.status != 303 or "lk_session" not in cookies:
    sys.exit(f"sign-in failed: HTTP {r.status}")
print("; ".join(f"{k}={v}" for k, v in cookies.items()))
