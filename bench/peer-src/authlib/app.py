"""A peer for bench/run: Authlib's authorization server in a minimal Flask app.

One confidential client (client_secret_post, like Latchkey's bench) doing
client_credentials; access tokens are RFC 9068 JWTs signed RS256 by
Authlib's JWTBearerTokenGenerator, with `aud` the requested `resource`.
A wrong secret is Authlib's invalid_client (401).

Run under gunicorn (bench/run does):
    BENCH_CLIENT_ID=… BENCH_CLIENT_SECRET=… BENCH_RESOURCE=… BENCH_KEY=key.pem \
    BENCH_ISSUER=http://127.0.0.1:PORT gunicorn -w 5 -b 127.0.0.1:PORT app:app
"""

import hmac
import os

from flask import Flask, request
from joserfc.jwk import RSAKey

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator

CLIENT_ID = os.environ["BENCH_CLIENT_ID"]
CLIENT_SECRET = os.environ["BENCH_CLIENT_SECRET"]
RESOURCE = os.environ["BENCH_RESOURCE"]
ISSUER = os.environ["BENCH_ISSUER"]
with open(os.environ["BENCH_KEY"], "rb") as f:
    # Imported once per worker, not per token.
    KEY = RSAKey.import_key(f.read(), {"kid": "bench", "use": "sig", "alg": "RS256"})


class Client(ClientMixin):
    client_id = CLIENT_ID
    scope = "Files.ReadAll"

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return self.scope
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(CLIENT_SECRET.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


CLIENT = Client()


class Tokens(JWTBearerTokenGenerator):
    def get_jwks(self):
        return KEY

    def get_audiences(self, client, user, scope):
        # RFC 8707: the audience is the requested resource.
        return request.form.get("resource") or RESOURCE

    def get_extra_claims(self, client, grant_type, user, scope):
        # The same app-role claim Latchkey puts in app-only tokens.
        return {"roles": scope.split()} if scope else {}


app = Flask(__name__)
server = AuthorizationServer(
    app,
    query_client=lambda client_id: CLIENT if client_id == CLIENT_ID else None,
    save_token=lambda token, req: None,  # self-contained JWTs: nothing to store
)


class ClientCredentials(ClientCredentialsGrant):
    # The secret in the body, as Latchkey's bench sends it (Basic works too).
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


server.register_grant(ClientCredentials)
server.register_token_generator(
    "default", Tokens(issuer=ISSUER, expires_generator=lambda client, grant_type: 3600)
)


@app.post("/token")
def token():
    return server.create_token_response()
