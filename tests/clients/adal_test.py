"""ADAL Python 1.2.7 (the Azure AD v1 client library), unchanged, against
`latchkey serve --tls-self-signed`: client credentials and username/password
with validate_authority=False over https, and an error whose
error_response carries the seed's fields and the correlation id ADAL sent.

Prints `# pass N` / `# fail N` like the other runners; exits 1 on failure.
"""

import logging
import sys
import uuid

import adal

from harness import CLI, RESOURCE, SECRET, TENANT, WEB, Logs, run


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


if __name__ == "__main__":
    sys.exit(run("adal", (test_client_credentials, test_username_password, test_an_error_carries_the_seed_fields_and_our_correlation_id)))
