"""MSAL Python (the Azure AD v2.0 client library), unchanged, against
`latchkey serve --tls-self-signed`: ConfidentialClientApplication with
instance_discovery=False doing client credentials with `/.default`,
username/password and refresh, a silent call served from the token cache;
error results carry the seed's six fields; the claims challenge of an API
that requires a second factor reaches the app unchanged, and passed back
through the auth code flow (its pages driven over HTTP, TOTP included) it
gets tokens that satisfy the policy.

The server listens on 127.0.0.1:443: before a password grant MSAL asks
`https://{host}/common/userrealm/{user}`, built from the authority's host
without its port, so only the default port works unchanged.

Prints `# pass N` / `# fail N` like the other runners; exits 1 on failure.
"""

import base64
import hashlib
import hmac
import html
import json
import re
import struct
import sys
import time
import uuid
from urllib.parse import parse_qs, parse_qsl, urljoin, urlparse

import msal
import requests

from harness import RESOURCE, SECRET, SEED_FIELDS, TENANT, WEB, run

FILES_READ = RESOURCE + "Files.Read"
# Contoso HR requires assignment (the fixture's `assigned_users`).
HR = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"
HR_SECRET = "hr-secret-0123456789-abcdefghijklmnopq"


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


def test_a_user_not_assigned_carries_the_seed_fields(base):
    """Contoso HR requires assignment and admits only Frank: Ivan's sign-in
    is AADSTS50105, answered with HTTP 403, which MSAL hands over as the
    seed's document like any other token error."""
    hr = msal.ConfidentialClientApplication(
        HR, client_credential=HR_SECRET, authority=f"{base}/{TENANT}", instance_discovery=False,
    )
    result = hr.acquire_token_by_username_password("ivan@contoso.example", "ivan-password", scopes=[FILES_READ])
    missing = [field for field in SEED_FIELDS if field not in result]
    assert not missing, (missing, result)
    assert result["error"] == "invalid_grant", result
    assert result["error_codes"] == [50105], result
    assert result["error_description"].startswith(
        f"AADSTS50105: The signed in user is not assigned to a role for the application '{HR}'(Contoso HR)."
    ), result
    frank = hr.acquire_token_by_username_password("frank@contoso.example", "frank-password", scopes=[FILES_READ])
    assert "access_token" in frank, frank


def test_an_unknown_scope_is_invalid_resource(base):
    result = app(base).acquire_token_for_client(scopes=["https://graph.example/.default"])
    assert result["error"] == "invalid_resource", result
    assert result["error_codes"] == [500011], result


# On-behalf-of: Contoso Todo API (confidential; its API's `app_id` is its
# client id) exchanges the token Ben's native client got for it.
TODO_API = "7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a"
TODO_SECRET = "todo-api-secret-0123456789-abcdefghijk"
TODO_NATIVE = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
GRAPH_USER_READ = "https://graph.contoso.example/User.Read"


def ben_token_for_the_todo_api(base):
    native = msal.PublicClientApplication(TODO_NATIVE, authority=f"{base}/{TENANT}", instance_discovery=False)
    result = native.acquire_token_by_username_password(
        "ben@contoso.example", "ben-password", scopes=["api://todo.contoso.example/access_as_user"])
    assert "access_token" in result, result
    return result["access_token"]


def todo_api(base):
    return msal.ConfidentialClientApplication(
        TODO_API, client_credential=TODO_SECRET, authority=f"{base}/{TENANT}", instance_discovery=False,
    )


def test_on_behalf_of_keeps_the_user(base):
    assertion = ben_token_for_the_todo_api(base)
    assert claims(assertion)["aud"] == TODO_API, claims(assertion)
    result = todo_api(base).acquire_token_on_behalf_of(assertion, [GRAPH_USER_READ])
    assert "access_token" in result, result
    token = claims(result["access_token"])
    assert token["aud"] == "https://graph.contoso.example/", token
    assert token["upn"] == "ben@contoso.example", token
    assert token["oid"] == claims(assertion)["oid"], token
    assert token["scp"] == "User.Read", token
    assert token["azp"] == TODO_API, token


def test_on_behalf_of_refusals_carry_their_codes(base):
    assertion = ben_token_for_the_todo_api(base)
    head, body, _ = assertion.split(".")
    forged = f"{head}.{body}." + base64.urlsafe_b64encode(b"forged").decode().rstrip("=")
    for user_assertion, scopes, error, number, suberror in (
        (assertion, ["https://graph.contoso.example/Mail.Read"], "invalid_grant", 65001, "consent_required"),
        (forged, [GRAPH_USER_READ], "invalid_grant", 50013, None),
        ("not-a-jwt", [GRAPH_USER_READ], "invalid_request", 50027, None),
    ):
        result = todo_api(base).acquire_token_on_behalf_of(user_assertion, scopes)
        missing = [field for field in SEED_FIELDS if field not in result]
        assert not missing, (missing, result)
        assert result["error"] == error, result
        assert result["error_codes"] == [number], result
        assert result.get("suberror") == suberror, result


# The claims challenge (issue 16): Payroll requires a second factor, which
# Quinn has but is asked for only where a policy or a claims request needs it.
PAYROLL_READ = "https://payroll.contoso.example/Payroll.Read"
PORTAL = "c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607"
PORTAL_SECRET = "payroll-secret-0123456789-abcdefghijk"
PORTAL_REDIRECT = "http://localhost:5100/callback"
QUINN = ("quinn@contoso.example", "quinn-password")
QUINN_TOTP = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def portal(base):
    return msal.ConfidentialClientApplication(
        PORTAL, client_credential=PORTAL_SECRET, authority=f"{base}/{TENANT}", instance_discovery=False,
    )


def totp(secret):
    """RFC 6238 with the authenticator-app defaults (SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret)
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def sign_in(auth_uri, username, password, otp=None):
    """A person's browser, over HTTP: opens the authorization URL, signs in
    on the page, passes the second factor if the page asks for it, and
    returns the parameters of the redirect to the app."""
    browser = requests.Session()

    def submit(url, page, fields):
        action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', page).group(1))
        hidden = dict(
            (html.unescape(name), html.unescape(value))
            for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page)
        )
        hidden.update(fields)
        return browser.post(urljoin(url, action), data=hidden, allow_redirects=False)

    response = browser.get(auth_uri, allow_redirects=False)
    assert 'id="signin"' in response.text, response.text
    response = submit(auth_uri, response.text, {"username": username, "password": password})
    asked_for_mfa = False
    while response.status_code == 303:
        response = browser.get(urljoin(auth_uri, response.headers["location"]), allow_redirects=False)
        if response.status_code == 200 and 'id="mfa"' in response.text:
            assert otp, "the page asked for a second factor"
            asked_for_mfa = True
            response = submit(auth_uri, response.text, {"otp": otp})
    assert response.status_code == 302, (response.status_code, response.text)
    assert asked_for_mfa == bool(otp), "the second factor was asked for exactly when expected"
    return dict(parse_qsl(urlparse(response.headers["location"]).query))


def test_the_claims_challenge_reaches_the_app_and_the_step_up_satisfies_the_policy(base):
    app = portal(base)
    refused = app.acquire_token_by_username_password(*QUINN, scopes=[PAYROLL_READ])
    assert refused["error"] == "interaction_required", refused
    assert refused["error_codes"] == [50076], refused
    assert refused["error_description"].startswith("AADSTS50076: "), refused
    challenge = refused["claims"]
    capolids = json.loads(challenge)["access_token"]["capolids"]
    assert capolids["essential"] is True and len(capolids["values"]) == 1, challenge
    # The app passes the claims back; MSAL puts them on the authorization
    # request unchanged.
    flow = app.initiate_auth_code_flow([PAYROLL_READ], redirect_uri=PORTAL_REDIRECT, claims_challenge=challenge)
    assert parse_qs(urlparse(flow["auth_uri"]).query)["claims"] == [challenge], flow["auth_uri"]
    response = sign_in(flow["auth_uri"], *QUINN, otp=totp(QUINN_TOTP))
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    assert claims(result["access_token"])["amr"] == ["pwd", "mfa"], claims(result["access_token"])
    assert result["id_token_claims"]["amr"] == ["pwd", "mfa"], result["id_token_claims"]
    # The refresh token keeps the second factor: a silent refresh satisfies
    # the policy too.
    [account] = app.get_accounts(username=QUINN[0])
    refreshed = app.acquire_token_silent([PAYROLL_READ], account=account, force_refresh=True)
    assert refreshed and "access_token" in refreshed, refreshed
    assert claims(refreshed["access_token"])["amr"] == ["pwd", "mfa"]


def test_a_silent_refresh_without_the_second_factor_surfaces_the_claims(base):
    app = portal(base)
    signed_in = app.acquire_token_by_username_password(*QUINN, scopes=[FILES_READ])
    assert "access_token" in signed_in, signed_in
    assert claims(signed_in["access_token"])["amr"] == ["pwd"]
    [account] = app.get_accounts(username=QUINN[0])
    # MSAL refreshes for Payroll with the password-only sign-in's token.
    refused = app.acquire_token_silent_with_error([PAYROLL_READ], account=account)
    assert refused and refused.get("error") == "interaction_required", refused
    assert refused["error_codes"] == [50076], refused
    assert "capolids" in json.loads(refused["claims"])["access_token"], refused


if __name__ == "__main__":
    sys.exit(run("msal", (
        test_client_credentials_with_default_scope,
        test_username_password_then_refresh,
        test_a_second_silent_call_is_served_from_the_cache,
        test_a_wrong_secret_carries_the_seed_fields,
        test_a_wrong_password_carries_the_seed_fields,
        test_a_user_not_assigned_carries_the_seed_fields,
        test_an_unknown_scope_is_invalid_resource,
        test_on_behalf_of_keeps_the_user,
        test_on_behalf_of_refusals_carry_their_codes,
        test_the_claims_challenge_reaches_the_app_and_the_step_up_satisfies_the_policy,
        test_a_silent_refresh_without_the_second_factor_surfaces_the_claims,
    ), listen="127.0.0.1:443"))
