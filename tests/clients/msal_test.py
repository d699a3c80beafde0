"""MSAL Python (the Azure AD v2.0 client library), unchanged, against
`latchkey serve --tls-self-signed`: ConfidentialClientApplication with
instance_discovery=False doing client credentials with `/.default`,
username/password and refresh, a silent call served from the token cache;
error results carry the seed's six fields.

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


def test_a_second_silent_call_is_served_from_the_cache(base):
    """The token cache works: the account is `uid.utid` from client_info,
    the rotated refresh token stays under it, and the access token a
    refresh filed (under the response's API-qualified scope) is what the
    next silent calls return, without asking the server."""
    client = app(base)
    first = client.acquire_token_by_username_password("frank@contoso.example", "frank-password", scopes=[FILES_READ])
    assert "access_token" in first, first
    oid = claims(first["access_token"])["oid"]
    [account] = client.get_accounts(username="frank@contoso.example")
    assert account["home_account_id"] == f"{oid}.{TENANT}", account
    cached = client.acquire_token_silent([FILES_READ], account=account)
    assert cached["token_source"] == "cache", cached
    assert cached["access_token"] == first["access_token"]
    refreshed = client.acquire_token_silent([FILES_READ], account=account, force_refresh=True)
    assert refreshed.get("token_source") == "identity_provider", refreshed
    for _ in range(2):
        again = client.acquire_token_silent([FILES_READ], account=account)
        assert again["token_source"] == "cache", again
        assert again["access_token"] == refreshed["access_token"]
    assert len(client.get_accounts()) == 1, client.get_accounts()
    # A second forced refresh presents the rotated token: no invalid_grant.
    second = client.acquire_token_silent([FILES_READ], account=account, force_refresh=True)
    assert second and "access_token" in second, second
    assert second["access_token"] != refreshed["access_token"]


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
        test_a_second_silent_call_is_served_from_the_cache,
        test_a_wrong_secret_carries_the_seed_fields,
        test_a_wrong_password_carries_the_seed_fields,
        test_an_unknown_scope_is_invalid_resource,
    ), listen="127.0.0.1:443"))
