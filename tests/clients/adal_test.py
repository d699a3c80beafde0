"""ADAL Python 1.2.7 (the Azure AD v1 client library), unchanged, against
`latchkey serve --tls-self-signed`: client credentials and username/password
with validate_authority=False over https, and an error whose
error_response carries the seed's fields and the correlation id ADAL sent.

Prints `# pass N` / `# fail N` like the other runners; exits 1 on failure.
"""

import logging
import os
import subprocess
import sys
import tempfile
import traceback
import uuid

import adal

TENANT = "7fe81447-da57-4385-becb-6de57f21477e"
RESOURCE = "https://files.contoso.example/"
WEB = "2d4d11a2-f814-46a7-890a-274a72a7309e"
SECRET = "web-secret-0123456789-abcdefghijklmnop"
CLI = "0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11"

DIRECTORY = f"""
[[tenants]]
id = "{TENANT}"
domains = ["contoso.example"]
  [[tenants.apis]]
  name = "Files"
  app_id_uri = "{RESOURCE}"
  scopes = ["Files.Read"]
  roles = ["Files.ReadAll"]
  [[tenants.apps]]
  client_id = "{WEB}"
  name = "Web"
  secret = "{SECRET}"
  grant_types = ["client_credentials"]
    [[tenants.apps.permissions]]
    api = "{RESOURCE}"
    roles = ["Files.ReadAll"]
  [[tenants.apps]]
  client_id = "{CLI}"
  name = "CLI"
  grant_types = ["password", "refresh_token"]
    [[tenants.apps.permissions]]
    api = "{RESOURCE}"
    scopes = ["Files.Read"]
  [[tenants.users]]
  upn = "frank@contoso.example"
  password = "frank-password"
    [[tenants.users.consents]]
    client_id = "{CLI}"
    scopes = ["Files.Read"]
"""


class Logs(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def start_server(workdir):
    directory = os.path.join(workdir, "directory.toml")
    with open(directory, "w") as f:
        f.write(DIRECTORY)
    binary = os.environ.get("LATCHKEY_BIN", "target/debug/latchkey")
    server = subprocess.Popen(
        [binary, "serve", "--directory", directory, "--listen", "127.0.0.1:0", "--data", os.path.join(workdir, "data"), "--tls-self-signed"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    first = server.stdout.readline()
    base = first.split()[3]
    assert base.startswith("https://127.0.0.1:"), first
    ca = server.stdout.readline().rsplit(" ", 1)[1].strip()
    # ADAL uses requests, which reads these (they override verify=).
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    os.environ["CURL_CA_BUNDLE"] = ca
    return server, base


def test_client_credentials(base):
    logs = Logs()
    logging.getLogger("adal-python").addHandler(logs)
    logging.getLogger("adal-python").setLevel(logging.DEBUG)
    context = adal.AuthenticationContext(f"{base}/{TENANT}", validate_authority=False)
    sent = str(uuid.uuid4())
    context.correlation_id = sent
    token = context.acquire_token_with_client_credentials(RESOURCE, WEB, SECRET)
    # ADAL sent return-client-request-id: true and saw its id come back.
    assert any(f"Server returned this correlation_id: {sent}" in line for line in logs.lines), logs.lines
    assert token["tokenType"] == "Bearer", token
    assert token["resource"] == RESOURCE, token
    assert token["expiresIn"] == 3600, token
    assert token["accessToken"].count(".") == 2


def test_username_password(base):
    context = adal.AuthenticationContext(f"{base}/{TENANT}", validate_authority=False)
    token = context.acquire_token_with_username_password(RESOURCE, "frank@contoso.example", "frank-password", CLI)
    assert token["accessToken"] and token["refreshToken"], token
    assert token["userId"] == "frank@contoso.example", token
    refreshed = context.acquire_token_with_refresh_token(token["refreshToken"], CLI, RESOURCE)
    assert refreshed["accessToken"] != token["accessToken"]


def test_an_error_carries_the_seed_fields_and_our_correlation_id(base):
    context = adal.AuthenticationContext(f"{base}/{TENANT}", validate_authority=False)
    sent = str(uuid.uuid4())
    context.correlation_id = sent
    try:
        context.acquire_token_with_client_credentials(RESOURCE, WEB, "wrong-secret")
    except adal.AdalError as error:
        response = error.error_response
    else:
        raise AssertionError("a wrong secret was accepted")
    assert response["error"] == "invalid_client", response
    assert response["error_codes"] == [7000215], response
    assert response["correlation_id"] == sent, response
    assert response["trace_id"] and response["timestamp"], response
    assert response["error_description"].startswith("AADSTS7000215: "), response


def main():
    passed = failed = 0
    with tempfile.TemporaryDirectory() as workdir:
        server, base = start_server(workdir)
        try:
            for test in (test_client_credentials, test_username_password, test_an_error_carries_the_seed_fields_and_our_correlation_id):
                try:
                    test(base)
                    passed += 1
                    print(f"ok - adal {test.__name__}")
                except Exception:
                    failed += 1
                    print(f"not ok - adal {test.__name__}")
                    traceback.print_exc()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"# pass {passed}")
    print(f"# fail {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
