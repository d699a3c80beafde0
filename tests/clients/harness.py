"""What the client-library tests share: the directory, a real `latchkey serve
--tls-self-signed` started on it, and a TAP-like runner printing
`# pass N` / `# fail N`.
"""

import html
import logging
import os
import re
import subprocess
import tempfile
import traceback

import requests

TENANT = "7fe81447-da57-4385-becb-6de57f21477e"
RESOURCE = "https://files.contoso.example/"
WEB = "2d4d11a2-f814-46a7-890a-274a72a7309e"
SECRET = "web-secret-0123456789-abcdefghijklmnop"
CLI = "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11"
DEVICE = "a1d2e3f4-5b6c-4d7e-8f90-1a2b3c4d5e6f"
SEED_FIELDS = ("error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id")

# The Contoso test directory, shared with the other test suites; the names
# above are its own.
DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "directory.toml")


class Logs(logging.Handler):
    """Collects a library's log lines, to see what it saw."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def start_server(workdir, listen="127.0.0.1:0", args=(), directory=DIRECTORY):
    """Starts `latchkey serve --tls-self-signed` (plus `args`) on
    `directory`; returns (process, base URL)."""
    binary = os.environ.get("LATCHKEY_BIN", "target/debug/latchkey")
    server = subprocess.Popen(
        [binary, "serve", "--directory", directory, "--listen", listen, "--data", os.path.join(workdir, "data"), "--tls-self-signed", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    first = server.stdout.readline()
    if not first:
        raise RuntimeError(f"latchkey serve --listen {listen} did not start: {server.stderr.read().strip()}")
    base = first.split()[3]
    assert base.startswith("https://127.0.0.1"), first
    ca = server.stdout.readline().rsplit(" ", 1)[1].strip()
    # requests reads these, and they override verify= (this machine sets them).
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    os.environ["CURL_CA_BUNDLE"] = ca
    return server, base


def run(library, tests, listen="127.0.0.1:0", args=(), directory=DIRECTORY, after_start=None):
    """Runs each test(base) against one server; returns the exit status.
    `after_start(server)`, if given, reads what the server printed after
    its first two lines before the tests run."""
    passed = failed = 0
    with tempfile.TemporaryDirectory() as workdir:
        server, base = start_server(workdir, listen, args, directory)
        try:
            if after_start:
                after_start(server)
            for test in tests:
                try:
                    test(base)
                    passed += 1
                    print(f"ok - {library} {test.__name__}")
                except Exception:
                    failed += 1
                    print(f"not ok - {library} {test.__name__}")
                    traceback.print_exc()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"# pass {passed}")
    print(f"# fail {failed}")
    return 1 if failed else 0


def _hidden_fields(page):
    return [(html.unescape(name), html.unescape(value))
            for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)]


def _action(page):
    return html.unescape(re.search(r'<form method="post" action="([^"]*)"', page).group(1))


def _submit(session, base, page, extra):
    fields = _hidden_fields(page) + list(extra.items())
    return session.post(base + _action(page), data=fields, allow_redirects=True, timeout=10)


def decide_device(base, user_code, user, password, accept=True):
    """What a person does at the device login page, over HTTP: types the
    user code, signs in, and accepts (or declines) on the consent page.
    Returns the last page's HTML."""
    session = requests.Session()
    entry = session.get(base + "/devicelogin", timeout=10)
    assert 'id="device-code"' in entry.text, entry.text
    signin = _submit(session, base, entry.text, {"user_code": user_code})
    assert 'id="signin"' in signin.text, signin.text
    consent = _submit(session, base, signin.text, {"username": user, "password": password})
    assert 'id="device-notice"' in consent.text, consent.text
    done = _submit(session, base, consent.text, {"consent": "accept" if accept else "cancel"})
    expected = 'id="device-approved"' if accept else 'id="device-declined"'
    assert expected in done.text, done.text
    return done.text
