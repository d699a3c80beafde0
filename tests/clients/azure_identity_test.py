"""azure-identity (Python) and MSAL Python, unchanged, authenticating apps
without secrets against `latchkey serve --tls-self-signed`:

- CertificateCredential with a PEM holding the key and the certificate
  (MSAL underneath: RS256, a padded base64url `x5t`), also with
  `send_certificate_chain` (`x5c`), one credential getting tokens for two
  resources (MSAL reuses its assertion);
- ClientAssertionCredential with an assertion the app builds itself;
- WorkloadIdentityCredential from the environment alone (AKS workload
  identity: AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID,
  AZURE_FEDERATED_TOKEN_FILE), its token file a Kubernetes-style
  service-account token signed by an issuer of the test's own, and the
  federated-credential refusals as the SDK surfaces them;
- EnvironmentCredential with the certificate's variables and the one
  option the environment cannot give (`disable_instance_discovery`);
- MSAL Python's ConfidentialClientApplication with a certificate.

Certificate and MSAL credentials are told `disable_instance_discovery` /
`instance_discovery=False`: otherwise MSAL asks Microsoft's public cloud
about the unknown authority host first (see docs/real-clients.md).

Prints `# pass N` / `# fail N` like the other runners; exits 1 on failure.
"""

import base64
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid

import jwt
import msal
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    CertificateCredential,
    ClientAssertionCredential,
    EnvironmentCredential,
    WorkloadIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness import DIRECTORY, RESOURCE, TENANT, run

DAEMON = "c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f"
WORKLOAD = "d4f8e2b3-9c5a-4d7e-8f1b-2a3c4d5e6f70"
REPORTS = "https://reports.contoso.example/"
PEM_PATH = os.path.join(os.path.dirname(DIRECTORY), "contoso-daemon.pem")
ISSUER = "https://oidc.aks.contoso.example/5c1d9e2a/"
SUBJECT = "system:serviceaccount:payments:worker"

WORKDIR = tempfile.mkdtemp(prefix="latchkey-identity-")
ISSUER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def b64url_uint(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def write_directory():
    """The test directory plus Contoso Workload, which trusts ISSUER (its
    keys in a JWKS file beside the directory file)."""
    numbers = ISSUER_KEY.public_key().public_numbers()
    jwks = {"keys": [{"kty": "RSA", "kid": "sa-key-1", "use": "sig", "alg": "RS256",
                      "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}]}
    with open(os.path.join(WORKDIR, "aks-jwks.json"), "w") as f:
        json.dump(jwks, f)
    with open(DIRECTORY) as f:
        fixture = f.read()
    app = f'''
  [[tenants.apps]]
  client_id = "{WORKLOAD}"
  name = "Contoso Workload"
  grant_types = ["client_credentials"]
    [[tenants.apps.federated_credentials]]
    name = "payments-worker"
    issuer = "{ISSUER}"
    subject = "{SUBJECT}"
    audience = "api://AzureADTokenExchange"
    jwks_path = "aks-jwks.json"
    [[tenants.apps.permissions]]
    api = "https://files.contoso.example/"
    roles = ["Files.ReadAll"]

'''
    anchor = "  [[tenants.users]]\n"
    path = os.path.join(WORKDIR, "directory.toml")
    with open(path, "w") as f:
        f.write(fixture.replace(anchor, app + anchor, 1))
    return path


def service_account_token(subject=SUBJECT, audience="api://AzureADTokenExchange"):
    """What the kubelet projects into a pod (RS256, `kid`, an hour)."""
    now = int(time.time())
    body = {"iss": ISSUER, "sub": subject, "aud": [audience], "iat": now, "nbf": now, "exp": now + 3600,
            "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "worker"}}}
    return jwt.encode(body, ISSUER_KEY, algorithm="RS256", headers={"kid": "sa-key-1"})


def daemon_material():
    with open(PEM_PATH, "rb") as f:
        pem = f.read()
    key = serialization.load_pem_private_key(pem, password=None)
    cert = x509.load_pem_x509_certificate(pem)
    return pem, key, cert


def test_certificate_credential_gets_app_tokens_for_two_resources(base):
    credential = CertificateCredential(TENANT, DAEMON, certificate_path=PEM_PATH, authority=base,
                                       disable_instance_discovery=True)
    files = claims(credential.get_token(RESOURCE + ".default").token)
    assert files["azp"] == DAEMON and files["azpacr"] == "2", files
    assert files["roles"] == ["Files.ReadAll"], files
    reports = claims(credential.get_token(REPORTS + ".default").token)
    assert reports["aud"] == REPORTS, reports


def test_certificate_credential_sending_the_chain(base):
    pem, _, _ = daemon_material()
    credential = CertificateCredential(TENANT, DAEMON, certificate_data=pem, send_certificate_chain=True,
                                       authority=base, disable_instance_discovery=True)
    token = claims(credential.get_token(RESOURCE + ".default").token)
    assert token["azp"] == DAEMON, token


def test_client_assertion_credential_with_the_apps_own_assertion(base):
    _, key, cert = daemon_material()
    der = cert.public_bytes(serialization.Encoding.DER)
    x5t = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")

    def assertion():
        now = int(time.time())
        body = {"aud": f"{base}/{TENANT}/oauth2/v2.0/token", "iss": DAEMON, "sub": DAEMON,
                "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + 600}
        return jwt.encode(body, key, algorithm="PS256", headers={"x5t": x5t})

    credential = ClientAssertionCredential(TENANT, DAEMON, assertion, authority=base)
    token = claims(credential.get_token(RESOURCE + ".default").token)
    assert token["azp"] == DAEMON and token["azpacr"] == "2", token


def with_environment(values, build):
    """Runs `build()` with exactly these AZURE_ variables set (the SDK
    reads them when a credential is made)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AZURE_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(values)
    try:
        return build()
    finally:
        for k in values:
            os.environ.pop(k, None)
        os.environ.update(saved)


def token_file(token):
    path = os.path.join(WORKDIR, f"sa-token-{uuid.uuid4()}")
    with open(path, "w") as f:
        f.write(token)
    return path


def workload_environment(base, token):
    return {"AZURE_AUTHORITY_HOST": base, "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": WORKLOAD,
            "AZURE_FEDERATED_TOKEN_FILE": token_file(token)}


def test_workload_identity_credential_from_the_environment_alone(base):
    credential = with_environment(workload_environment(base, service_account_token()), WorkloadIdentityCredential)
    token = claims(credential.get_token(RESOURCE + ".default").token)
    assert token["azp"] == WORKLOAD and token["roles"] == ["Files.ReadAll"], token


def test_a_service_account_the_app_does_not_trust_is_refused_with_its_subject(base):
    token = service_account_token(subject="system:serviceaccount:payments:intruder")
    credential = with_environment(workload_environment(base, token), WorkloadIdentityCredential)
    try:
        credential.get_token(RESOURCE + ".default")
    except ClientAuthenticationError as error:
        message = str(error)
        assert "AADSTS700213: No matching federated identity record found for presented assertion subject " \
               "'system:serviceaccount:payments:intruder'." in message, message
    else:
        raise AssertionError("an untrusted subject got a token")


def test_a_token_for_another_audience_is_refused(base):
    token = service_account_token(audience="api://SomethingElse")
    credential = with_environment(workload_environment(base, token), WorkloadIdentityCredential)
    try:
        credential.get_token(RESOURCE + ".default")
    except ClientAuthenticationError as error:
        assert "AADSTS700212" in str(error) and "'api://SomethingElse'" in str(error), str(error)
    else:
        raise AssertionError("a token for another audience got a token")


def test_environment_credential_with_a_certificate(base):
    values = {"AZURE_AUTHORITY_HOST": base, "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": DAEMON,
              "AZURE_CLIENT_CERTIFICATE_PATH": PEM_PATH}
    credential = with_environment(values, lambda: EnvironmentCredential(disable_instance_discovery=True))
    token = claims(credential.get_token(RESOURCE + ".default").token)
    assert token["azp"] == DAEMON, token


def test_msal_with_a_certificate(base):
    pem, _, cert = daemon_material()
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    app = msal.ConfidentialClientApplication(
        DAEMON, authority=f"{base}/{TENANT}", instance_discovery=False,
        client_credential={"private_key": pem.decode(), "thumbprint": thumbprint,
                           "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode()},
    )
    result = app.acquire_token_for_client(scopes=[RESOURCE + ".default"])
    assert "access_token" in result, result
    assert claims(result["access_token"])["azpacr"] == "2", result
    # A wrong certificate: the app's own key, but a thumbprint Latchkey
    # does not know.
    wrong = msal.ConfidentialClientApplication(
        DAEMON, authority=f"{base}/{TENANT}", instance_discovery=False,
        client_credential={"private_key": pem.decode(), "thumbprint": "00" * 20},
    )
    refused = wrong.acquire_token_for_client(scopes=[REPORTS + ".default"])
    assert refused.get("error") == "invalid_client" and refused["error_codes"] == [700027], refused


if __name__ == "__main__":
    sys.exit(run("azure-identity", (
        test_certificate_credential_gets_app_tokens_for_two_resources,
        test_certificate_credential_sending_the_chain,
        test_client_assertion_credential_with_the_apps_own_assertion,
        test_workload_identity_credential_from_the_environment_alone,
        test_a_service_account_the_app_does_not_trust_is_refused_with_its_subject,
        test_a_token_for_another_audience_is_refused,
        test_environment_credential_with_a_certificate,
        test_msal_with_a_certificate,
    ), directory=write_directory()))
