"""MSAL Python (the Azure AD v2.0 client library), unchanged, against
`latchkey serve --tls-self-signed`: ConfidentialClientApplication with
instance_discovery=False doing client credentials with `/.default`,
username/password and refresh; error results carry the seed's six fields.

The server listens on 127.0.0.1:443: before a password grant MSAL asks
`https://{host}/common/userrealm/{user}`, built from the authority's host
without its port, so only the default port works unchanged.

Prints `# pass N` / `# fail N` like the other runners; exits 1 on failure.
"""

import base64
import json
import sys
import uuid

import msal

from harness import RESOURCE, SECRET, SEED_FIELDS, TENANT, WEB, run

FILES_READ = RESOURCE + "Files.Read"


def app(base, secret=SECRET):
    return msal.ConfidentialClientApplication(
        WEB, client_credential=secret, authority=f"{base}/{TENANT}", instance_discovery=False,
    )


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_client_credentials_with_default_scope(base):
    result = app(base).acquire_token_for_client(scopes=[RESOURCE + ".default"])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer", result
    assert isinstance(result["expires_in"], int), result
    token = claims(result["access_token"])
    assert token["ver"] == "2.0", token
    assert token["iss"] == f"{base}/{TENANT}/v2.0", token
    assert token["azp"] == WEB, token
    assert token["roles"] == ["Files.ReadAll"], token


def test_username_password_then_refresh(base):
    client = app(base)
    result = client.acquire_token_by_username_password("frank@contoso.example", "frank-password", scopes=[FILES_READ])
    assert "access_token" in result and "refresh_token" in result, result
    assert claims(result["access_token"])["scp"] == "Files.Read"
    assert result["id_token_claims"]["preferred_username"] == "frank@contoso.example", result["id_token_claims"]
    [account] = client.get_accounts(username="frank@contoso.example")
    refreshed = client.acquire_token_silent([FILES_READ], account=account, force_refresh=True)
    assert refreshed and "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]
    assert refreshed.get("token_source") == "identity_provider", refreshed


def test_a_wrong_secret_carries_the_seed_fields(base):
    result = app(base, secret="wrong-secret").acquire_token_for_client(scopes=[RESOURCE + ".default"])
    missing = [field for field in SEED_FIELDS if field not in result]
    assert not missing, (missing, result)
    assert result["error"] == "invalid_client", result
    assert result["error_codes"] == [7000215], result
    assert result["error_description"].startswith("AADSTS7000215: "), result
    uuid.UUID(result["correlation_id"])
    uuid.UUID(result["trace_id"])


def test_a_wrong_password_carries_the_seed_fields(base):
    result = app(base).acquire_token_by_username_password("frank@contoso.example", "not-the-password", scopes=[FILES_READ])
    missing = [field for field in SEED_FIELDS if field not in result]
    assert not missing, (missing, result)
    assert result["error"] == "invalid_grant", result
    assert result["error_codes"] == [50126], result


def test_an_unknown_scope_is_invalid_resource(base):
    result = app(base).acquire_token_for_client(scopes=["https://graph.example/.default"])
    assert result["error"] == "invalid_resource", result
    assert result["error_codes"] == [500011], result


if __name__ == "__main__":
    sys.exit(run("msal", (
        test_client_credentials_with_default_scope,
        test_username_password_then_refresh,
        test_a_wrong_secret_carries_the_seed_fields,
        test_a_wrong_password_carries_the_seed_fields,
        test_an_unknown_scope_is_invalid_resource,
    ), listen="127.0.0.1:443"))
