"""azure-identity (Python), unchanged, against `latchkey serve
--managed-identity-listen`: ManagedIdentityCredential through the App
Service protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER) and through IMDS
(AZURE_POD_IDENTITY_AUTHORITY_HOST), system- and user-assigned; an unknown
user-assigned identity surfacing as the SDK's exception with the server's
message; DefaultAzureCredential finding managed identity from the
environment alone (its IMDS probe included). And MSAL Python with
`instance_discovery=URL` pointed at Latchkey's instance discovery.

azure-identity reads the environment when a credential is made, so each
credential case runs in a child process with exactly the environment an
app would have (HOME a fresh directory, no AZURE_* or IDENTITY_* but
those the case sets).

Prints `# pass N` / `# fail N` like the other runners; exits 1 on failure.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import uuid

import msal
import requests

from harness import RESOURCE, SECRET, TENANT, WEB, run

# The test directory's managed identities (tests/fixtures/directory.toml).
WEB_HOST = "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
WEB_HOST_PRINCIPAL = str(uuid.uuid5(uuid.UUID(TENANT), f"managed_identity:{WEB_HOST}"))
BATCH = "b47c11e0-3d2a-4f5e-9a8b-7c6d5e4f3a2b"
BATCH_PRINCIPAL = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"
UNKNOWN = "0f0f0f0f-0000-4000-8000-000000000000"
SCOPE = RESOURCE + ".default"

# What `serve` printed: IDENTITY_ENDPOINT, IDENTITY_HEADER and
# AZURE_POD_IDENTITY_AUTHORITY_HOST.
PRINTED = {}


def read_environment(server):
    """The `  NAME=value` lines after the listening and CA lines."""
    while "AZURE_POD_IDENTITY_AUTHORITY_HOST" not in PRINTED:
        line = server.stdout.readline()
        if not line:
            raise RuntimeError("serve printed no managed identity environment")
        name, sep, value = line.strip().partition("=")
        if sep and name.isupper():
            PRINTED[name] = value


def app_service_env():
    return {"IDENTITY_ENDPOINT": PRINTED["IDENTITY_ENDPOINT"], "IDENTITY_HEADER": PRINTED["IDENTITY_HEADER"]}


def imds_env():
    return {"AZURE_POD_IDENTITY_AUTHORITY_HOST": PRINTED["AZURE_POD_IDENTITY_AUTHORITY_HOST"]}


# The child: makes the credential named on its command line and prints
# the token, or the exception's class and message, as one JSON line.
CHILD = r"""
import json, sys
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
kind, client_id, scope = sys.argv[1], sys.argv[2] or None, sys.argv[3]
try:
    if kind == "managed":
        credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    else:
        credential = DefaultAzureCredential()
    token = credential.get_token(scope)
    print(json.dumps({"token": token.token, "expires_on": token.expires_on}))
except Exception as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
"""


def in_child(env, kind="managed", client_id=None):
    """Runs CHILD with only `env` of azure's variables, in a fresh HOME."""
    with tempfile.TemporaryDirectory() as home:
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "MSAL_"))}
        clean.update(env, HOME=home)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, kind, client_id or "", SCOPE],
            env=clean, capture_output=True, text=True, timeout=120,
        )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_identity_token(result, client_id, principal):
    assert "token" in result, result
    token = claims(result["token"])
    assert token["appid"] == client_id, token
    assert token["oid"] == token["sub"] == principal, token
    assert token["idtyp"] == "app" and token["appidacr"] == "2", token
    assert token["aud"] == RESOURCE and token["tid"] == TENANT, token
    return token


def test_app_service_system_assigned(base):
    token = assert_identity_token(in_child(app_service_env()), WEB_HOST, WEB_HOST_PRINCIPAL)
    assert token["roles"] == ["Files.ReadAll"], token


def test_app_service_user_assigned(base):
    token = assert_identity_token(in_child(app_service_env(), client_id=BATCH), BATCH, BATCH_PRINCIPAL)
    assert "roles" not in token, token


def test_imds_system_assigned(base):
    assert_identity_token(in_child(imds_env()), WEB_HOST, WEB_HOST_PRINCIPAL)


def test_imds_user_assigned(base):
    assert_identity_token(in_child(imds_env(), client_id=BATCH), BATCH, BATCH_PRINCIPAL)


def test_an_unknown_user_assigned_identity_is_the_sdks_error_with_the_message(base):
    result = in_child(app_service_env(), client_id=UNKNOWN)
    assert result.get("error") == "CredentialUnavailableError", result
    assert "Unable to load the proper Managed Identity." in result["message"], result
    result = in_child(imds_env(), client_id=UNKNOWN)
    assert result.get("error") == "CredentialUnavailableError", result
    assert "Identity not found" in result["message"], result


def test_default_credential_finds_app_service_from_the_environment(base):
    assert_identity_token(in_child(app_service_env(), kind="default"), WEB_HOST, WEB_HOST_PRINCIPAL)
    # AZURE_CLIENT_ID names a user-assigned identity for DefaultAzureCredential.
    env = dict(app_service_env(), AZURE_CLIENT_ID=BATCH)
    assert_identity_token(in_child(env, kind="default"), BATCH, BATCH_PRINCIPAL)


def test_default_credential_probes_imds_and_uses_it(base):
    # DefaultAzureCredential first asks IMDS without the Metadata header
    # and takes any answer for "IMDS is here".
    assert_identity_token(in_child(imds_env(), kind="default"), WEB_HOST, WEB_HOST_PRINCIPAL)


class Recording(requests.Session):
    """An HTTP client that remembers the URLs MSAL fetched."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def get(self, url, **kwargs):
        self.urls.append(url)
        return super().get(url, **kwargs)


def test_msal_with_instance_discovery_pointed_at_latchkey(base):
    http = Recording()
    app = msal.ConfidentialClientApplication(
        WEB, client_credential=SECRET, authority=f"{base}/{TENANT}",
        instance_discovery=f"{base}/common/discovery/instance", http_client=http,
    )
    result = app.acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    assert claims(result["access_token"])["azp"] == WEB
    # It asked Latchkey, and followed the document to the v2.0 configuration.
    assert http.urls[:2] == [
        f"{base}/common/discovery/instance",
        f"{base}/{TENANT}/v2.0/.well-known/openid-configuration",
    ], http.urls


if __name__ == "__main__":
    sys.exit(run("azure-identity managed identity", (
        test_app_service_system_assigned,
        test_app_service_user_assigned,
        test_imds_system_assigned,
        test_imds_user_assigned,
        test_an_unknown_user_assigned_identity_is_the_sdks_error_with_the_message,
        test_default_credential_finds_app_service_from_the_environment,
        test_default_credential_probes_imds_and_uses_it,
        test_msal_with_instance_discovery_pointed_at_latchkey,
    ), args=("--managed-identity-listen", "127.0.0.1:0", "--managed-identity-tenant", "contoso.example"),
        after_start=read_environment))
