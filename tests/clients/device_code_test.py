"""The device code flow (RFC 8628) with the real client libraries,
unchanged: ADAL Python's acquire_user_code + acquire_token_with_device_code
(v1: `verification_url`, numbers as strings, the code sent as `code=`) and
MSAL Python's initiate_device_flow + acquire_token_by_device_flow (v2.0),
each completed by a person at the device login page (an HTTP script,
`harness.decide_device`) while the library polls, and each also seeing
`authorization_declined` and `expired_token`.

The server polls fast for the test: `--device-code-interval 1
--device-code-lifetime 5`.

Prints `# pass N` / `# fail N` like the other runners; exits 1 on failure.
"""

import sys
import threading
import time

import adal
import msal

from harness import DEVICE, RESOURCE, TENANT, decide_device, run

LIFETIME = 5
FILES_READ = RESOURCE + "Files.Read"


class Person(threading.Thread):
    """Someone who reaches the device login page a little after the device
    started polling (so the library sees `authorization_pending` first)."""

    def __init__(self, base, user_code, accept=True):
        super().__init__(daemon=True)
        self.args_ = (base, user_code, "frank@contoso.example", "frank-password", accept)
        self.error = None

    def run(self):
        time.sleep(1.5)
        try:
            decide_device(*self.args_)
        except Exception as error:  # reported by finish()
            self.error = error

    def finish(self):
        self.join(timeout=20)
        if self.error:
            raise self.error


def adal_context(base):
    return adal.AuthenticationContext(f"{base}/{TENANT}", validate_authority=False)


def test_adal_device_code(base):
    context = adal_context(base)
    code = context.acquire_user_code(RESOURCE, DEVICE)
    assert code["verification_url"] == f"{base}/devicelogin", code
    assert code["interval"] == 1 and code["expires_in"] == LIFETIME, code
    assert code["user_code"] in code["message"], code
    person = Person(base, code["user_code"])
    person.start()
    started = time.monotonic()
    token = context.acquire_token_with_device_code(RESOURCE, code, DEVICE)
    person.finish()
    # ADAL polled at once, was told to wait, and polled again.
    assert time.monotonic() - started >= 1.5
    assert token["userId"] == "frank@contoso.example", token
    assert token["resource"] == RESOURCE, token
    assert token["accessToken"] and token["refreshToken"], token


def test_adal_device_code_declined(base):
    context = adal_context(base)
    code = context.acquire_user_code(RESOURCE, DEVICE)
    person = Person(base, code["user_code"], accept=False)
    person.start()
    try:
        context.acquire_token_with_device_code(RESOURCE, code, DEVICE)
    except adal.AdalError as error:
        response = error.error_response
    else:
        raise AssertionError("a declined device code gave tokens")
    person.finish()
    assert response["error"] == "authorization_declined", response
    assert response["error_codes"] == [65004], response


def test_adal_device_code_expired(base):
    context = adal_context(base)
    code = context.acquire_user_code(RESOURCE, DEVICE)
    # The device starts polling only once the code has expired.
    time.sleep(LIFETIME + 1)
    try:
        context.acquire_token_with_device_code(RESOURCE, code, DEVICE)
    except adal.AdalError as error:
        response = error.error_response
    else:
        raise AssertionError("an expired device code gave tokens")
    assert response["error"] == "expired_token", response
    assert response["error_codes"] == [70019], response


def msal_app(base):
    return msal.PublicClientApplication(DEVICE, authority=f"{base}/{TENANT}", instance_discovery=False)


def test_msal_device_flow(base):
    app = msal_app(base)
    flow = app.initiate_device_flow(scopes=[FILES_READ])
    assert flow["verification_uri"] == f"{base}/devicelogin", flow
    assert flow["user_code"] in flow["message"], flow
    person = Person(base, flow["user_code"])
    person.start()
    result = app.acquire_token_by_device_flow(flow)
    person.finish()
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "frank@contoso.example", result
    # MSAL filed the tokens: a silent call needs no request.
    [account] = app.get_accounts(username="frank@contoso.example")
    cached = app.acquire_token_silent([FILES_READ], account=account)
    assert cached and cached["access_token"] == result["access_token"], cached
    assert cached.get("token_source") == "cache", cached


def test_msal_device_flow_declined(base):
    app = msal_app(base)
    flow = app.initiate_device_flow(scopes=[FILES_READ])
    person = Person(base, flow["user_code"], accept=False)
    person.start()
    result = app.acquire_token_by_device_flow(flow)
    person.finish()
    assert result.get("error") == "authorization_declined", result
    assert result["error_codes"] == [65004], result


def test_msal_device_flow_expired(base):
    app = msal_app(base)
    flow = app.initiate_device_flow(scopes=[FILES_READ])
    # The device starts polling only once the code has expired.
    time.sleep(LIFETIME + 1)
    result = app.acquire_token_by_device_flow(flow)
    assert result.get("error") == "expired_token", result
    assert result["error_codes"] == [70019], result


if __name__ == "__main__":
    sys.exit(run("device-code", (
        test_adal_device_code,
        test_adal_device_code_declined,
        test_adal_device_code_expired,
        test_msal_device_flow,
        test_msal_device_flow_declined,
        test_msal_device_flow_expired,
    ), args=("--device-code-interval", "1", "--device-code-lifetime", str(LIFETIME))))
