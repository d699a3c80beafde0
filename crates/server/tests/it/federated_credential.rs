//! Workload identity federation: a token from an external issuer the app
//! trusts (`[[tenants.apps.federated_credentials]]`) as its client
//! assertion. The test plays the issuer (a Kubernetes-style service-account
//! token issuer with a P-256 key): its keys in a JWKS file beside the
//! directory file, or published at its OpenID configuration on a loopback
//! port.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::client_assertion::{JWT_BEARER, jws, token_of, unix_now};
use crate::harness::*;

const FED_DOCS: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// A workload's identity provider of the test's own (a Kubernetes-style
/// service-account token issuer): a P-256 key, its JWKS beside the
/// directory file, and an app trusting it.
struct Workload {
    key: EcdsaKeyPair,
    issuer: String,
    _dir: tempfile::TempDir,
    server: TestServer,
}

const WORKLOAD: &str = "d4f8e2b3-9c5a-4d7e-8f1b-2a3c4d5e6f70";
const SUBJECT: &str = "system:serviceaccount:payments:worker";

fn ec_jwk(key: &EcdsaKeyPair, kid: &str) -> Value {
    let point = key.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])})
}

fn workload_app(issuer: &str, jwks_path: Option<&str>) -> String {
    let jwks = jwks_path
        .map(|p| format!("    jwks_path = \"{p}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
  [[tenants.apps]]
  client_id = "{WORKLOAD}"
  name = "Contoso Workload"
  grant_types = ["client_credentials"]
    [[tenants.apps.federated_credentials]]
    name = "payments-worker"
    issuer = "{issuer}"
    subject = "{SUBJECT}"
    audience = "api://AzureADTokenExchange"
{jwks}    [[tenants.apps.permissions]]
    api = "https://files.contoso.example/"
    roles = ["Files.ReadAll"]
"#
    )
}

fn directory_with(app: &str) -> String {
    let fixture = include_str!("../../../../tests/fixtures/directory.toml");
    let anchor = "  [[tenants.users]]\n";
    fixture.replacen(anchor, &format!("{app}\n{anchor}"), 1)
}

impl Workload {
    async fn start() -> Workload {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let jwks = json!({"keys": [ec_jwk(&key, "k1")]});
        std::fs::write(dir.path().join("issuer-jwks.json"), jwks.to_string()).unwrap();
        let issuer = "https://oidc.cluster.contoso.example/6f1e".to_owned();
        let directory = directory_with(&workload_app(&issuer, Some("issuer-jwks.json")));
        let server = TestServer::start_with_directory_at(&directory, dir.path()).await;
        Workload {
            key,
            issuer,
            _dir: dir,
            server,
        }
    }

    fn token(&self, claims: &Value, kid: &str) -> String {
        jws(&json!({"alg": "ES256", "kid": kid}), claims, |m| {
            self.key
                .sign(&SystemRandom::new(), m)
                .unwrap()
                .as_ref()
                .to_vec()
        })
    }

    fn claims(&self) -> Value {
        let now = unix_now();
        json!({"iss": self.issuer, "sub": SUBJECT, "aud": ["api://AzureADTokenExchange"],
            "iat": now, "nbf": now, "exp": now + 3_600})
    }

    async fn exchange(&self, assertion: &str) -> reqwest::Response {
        self.server
            .token(
                TENANT,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", WORKLOAD),
                    ("resource", FILES),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion),
                ],
            )
            .await
    }
}

#[tokio::test]
async fn a_federated_issuers_token_is_the_apps_credential() {
    let workload = Workload::start().await;
    let body = token_of(
        workload
            .exchange(&workload.token(&workload.claims(), "k1"))
            .await,
    )
    .await;
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["appid"], WORKLOAD);
    assert_eq!(access["roles"], json!(["Files.ReadAll"]));
}

#[tokio::test]
async fn a_federated_token_must_match_issuer_subject_audience_and_key() {
    let workload = Workload::start().await;
    let fed = |what: &str, value: &str| {
        format!(
            "No matching federated identity record found for presented assertion {what} '{value}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {FED_DOCS}"
        )
    };
    let mut other_sub = workload.claims();
    other_sub["sub"] = json!("system:serviceaccount:payments:intruder");
    let message = fed("subject", "system:serviceaccount:payments:intruder");
    assert_token_error(
        workload.exchange(&workload.token(&other_sub, "k1")).await,
        Expected::new(401, "invalid_client", 700213, &message),
    )
    .await;

    let mut other_aud = workload.claims();
    other_aud["aud"] = json!("api://SomethingElse");
    let message = fed("audience", "api://SomethingElse");
    assert_token_error(
        workload.exchange(&workload.token(&other_aud, "k1")).await,
        Expected::new(401, "invalid_client", 700212, &message),
    )
    .await;

    let mut other_iss = workload.claims();
    other_iss["iss"] = json!("https://token.actions.githubusercontent.com");
    let message = fed("issuer", "https://token.actions.githubusercontent.com");
    assert_token_error(
        workload.exchange(&workload.token(&other_iss, "k1")).await,
        Expected::new(401, "invalid_client", 700211, &message),
    )
    .await;

    let message = format!(
        "Client assertion failed signature validation. [Reason - The key was not found., Key id used by the issuer: 'k2', Issuer: '{}']",
        workload.issuer
    );
    assert_token_error(
        workload
            .exchange(&workload.token(&workload.claims(), "k2"))
            .await,
        Expected::new(401, "invalid_client", 700027, &message),
    )
    .await;

    // A day and an hour: over the federated cap.
    let mut long = workload.claims();
    long["exp"] = json!(unix_now() + 90_000);
    let response = workload.exchange(&workload.token(&long, "k1")).await;
    assert_eq!(response.status(), 401);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["error_codes"], json!([700024]));
}

/// An OpenID provider on a loopback port: its discovery document and JWKS.
async fn serve_issuer(jwks: Value) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let configuration = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/openid/v1/jwks")});
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(configuration) }),
        )
        .route(
            "/openid/v1/jwks",
            axum::routing::get(move || async move { axum::Json(jwks) }),
        );
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (issuer, task)
}

#[tokio::test]
async fn without_a_jwks_file_the_issuers_published_keys_are_fetched() {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let (issuer, task) = serve_issuer(json!({"keys": [ec_jwk(&key, "published")]})).await;
    let server =
        TestServer::start_with_directory(&directory_with(&workload_app(&issuer, None)), |_| {})
            .await;
    let now = unix_now();
    let claims_ = json!({"iss": issuer, "sub": SUBJECT, "aud": "api://AzureADTokenExchange", "iat": now, "exp": now + 600});
    let assertion = jws(
        &json!({"alg": "ES256", "kid": "published"}),
        &claims_,
        |m| key.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec(),
    );
    let params = [
        ("grant_type", "client_credentials"),
        ("client_id", WORKLOAD),
        ("resource", FILES),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    token_of(server.token(TENANT, &params).await).await;

    // The issuer gone: the keys cannot be had (a second server, with
    // nothing cached).
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again =
        TestServer::start_with_directory(&directory_with(&workload_app(&issuer, None)), |_| {})
            .await;
    let message = format!(
        "Request to External OIDC endpoint failed. The signing keys of the issuer '{issuer}' could not be fetched from its OpenID configuration."
    );
    assert_token_error(
        again.token(TENANT, &params).await,
        Expected::new(401, "invalid_client", 50166, &message),
    )
    .await;
}
