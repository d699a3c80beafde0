//! Client assertions (RFC 7523 §2.2) as the client's credential: a
//! certificate's (`private_key_jwt`, Contoso Daemon's registered
//! certificate, whose key is in tests/fixtures/contoso-daemon.pem), on
//! every grant that authenticates a client, each refusal pinned byte for
//! byte. A federated issuer's: `federated_credential`.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::harness::*;

pub const DAEMON: &str = "c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f";
const REPORTS: &str = "https://reports.contoso.example/";
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The daemon's certificate and its private key (a test key).
pub(crate) const DAEMON_PEM: &str =
    include_str!("../../../../../tests/fixtures/contoso-daemon.pem");

fn pem_block(tag: &str) -> Vec<u8> {
    pem::parse_many(DAEMON_PEM)
        .unwrap()
        .into_iter()
        .find(|b| b.tag() == tag)
        .unwrap()
        .into_contents()
}

fn daemon_key() -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(&pem_block("PRIVATE KEY")).unwrap()
}

pub(crate) fn daemon_cert() -> Vec<u8> {
    pem_block("CERTIFICATE")
}

pub(crate) fn sha1_thumbprint(der: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// `header.claims`, signed by `sign`.
pub(crate) fn jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let signed = format!("{}.{}", b64(header), b64(claims));
    let signature = sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn rsa_sign(key: &RsaKeyPair, alg: &str, message: &[u8]) -> Vec<u8> {
    let mut signature = vec![0; key.public_modulus_len()];
    let padding = if alg == "PS256" {
        &RSA_PSS_SHA256
    } else {
        &RSA_PKCS1_SHA256
    };
    key.sign(padding, &SystemRandom::new(), message, &mut signature)
        .unwrap();
    signature
}

/// What an assertion from Contoso Daemon says by default: for `aud`, v1.
pub(crate) fn daemon_claims(server: &TestServer) -> Value {
    let now = unix_now();
    json!({
        "aud": server.token_url(TENANT),
        "iss": DAEMON,
        "sub": DAEMON,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    })
}

/// The header MSAL Python writes: RS256 and a padded base64url `x5t`.
pub(crate) fn msal_python_header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(sha1_thumbprint(&daemon_cert())) + "="})
}

/// Contoso Daemon's assertion, signed with its certificate's key.
pub(crate) fn daemon_assertion(header: &Value, claims: &Value) -> String {
    let alg = header["alg"].as_str().unwrap().to_owned();
    jws(header, claims, |m| rsa_sign(&daemon_key(), &alg, m))
}

pub(crate) fn with_assertion<'a>(
    assertion: &'a str,
    rest: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("client_id", DAEMON),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    params.extend_from_slice(rest);
    params
}

pub(crate) async fn client_credentials(
    server: &TestServer,
    assertion: &str,
    resource: &str,
) -> reqwest::Response {
    server
        .token(
            TENANT,
            &with_assertion(
                assertion,
                &[("grant_type", "client_credentials"), ("resource", resource)],
            ),
        )
        .await
}

pub(crate) async fn token_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_certificate_assertion_gets_app_tokens_for_two_resources_with_one_assertion() {
    let server = TestServer::start().await;
    let assertion = daemon_assertion(&msal_python_header(), &daemon_claims(&server));
    let files = token_of(client_credentials(&server, &assertion, FILES).await).await;
    let access = claims(files["access_token"].as_str().unwrap());
    assert_eq!(access["appid"], DAEMON);
    assert_eq!(
        access["appidacr"], "2",
        "a certificate authenticated the app"
    );
    assert_eq!(access["roles"], json!(["Files.ReadAll"]));
    // MSAL reuses one assertion for every resource until it is near its
    // end, and Azure AD takes it: so does Latchkey, by default.
    let reports = token_of(client_credentials(&server, &assertion, REPORTS).await).await;
    assert_eq!(
        claims(reports["access_token"].as_str().unwrap())["aud"],
        REPORTS
    );
}

#[tokio::test]
async fn a_ps256_assertion_naming_x5t_s256_works_at_the_v2_endpoint() {
    let server = TestServer::start().await;
    // @azure/identity for Node: PS256, an unpadded `x5t#S256`, `aud` the
    // v2.0 token endpoint named by the tenant's domain.
    let s256 = digest::digest(&digest::SHA256, &daemon_cert());
    let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": URL_SAFE_NO_PAD.encode(s256)});
    let mut claims_ = daemon_claims(&server);
    claims_["aud"] = json!(format!("{}/contoso.example/oauth2/v2.0/token", server.base));
    let assertion = daemon_assertion(&header, &claims_);
    let response = server
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", server.base))
        .form(&with_assertion(
            &assertion,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "https://files.contoso.example/.default"),
            ],
        ))
        .send()
        .await
        .unwrap();
    let body = token_of(response).await;
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["azp"], DAEMON);
    assert_eq!(access["azpacr"], "2");
}

#[tokio::test]
async fn a_certificate_assertion_authenticates_the_password_and_refresh_grants() {
    let server = TestServer::start().await;
    let assertion = daemon_assertion(&msal_python_header(), &daemon_claims(&server));
    let first = token_of(
        server
            .token(
                TENANT,
                &with_assertion(
                    &assertion,
                    &[
                        ("grant_type", "password"),
                        ("username", "frank@contoso.example"),
                        ("password", "frank-password"),
                        ("resource", FILES),
                    ],
                ),
            )
            .await,
    )
    .await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let second = token_of(
        server
            .token(
                TENANT,
                &with_assertion(
                    &assertion,
                    &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
                ),
            )
            .await,
    )
    .await;
    assert_eq!(
        claims(second["access_token"].as_str().unwrap())["upn"],
        "frank@contoso.example"
    );
    // The refresh token is the app's: without its credential it is refused.
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", DAEMON),
                ("refresh_token", second["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    )
    .await;
}

/// The daemon's certificate as MSAL Python's `x5c` carries it: the PEM's
/// base64 lines, line breaks and all.
fn daemon_x5c() -> String {
    let b64 = STANDARD.encode(daemon_cert());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    lines.join("\n")
}

#[tokio::test]
async fn an_x5c_chain_names_the_certificate() {
    let server = TestServer::start().await;
    // MSAL Python's `send_certificate_chain`: `x5c` beside the padded `x5t`.
    let mut header = msal_python_header();
    header["x5c"] = json!([daemon_x5c()]);
    let mut fractional = daemon_claims(&server);
    fractional["exp"] = json!(unix_now() as f64 + 600.25);
    fractional["iat"] = json!(unix_now() as f64 + 0.5);
    fractional.as_object_mut().unwrap().remove("nbf");
    token_of(client_credentials(&server, &daemon_assertion(&header, &fractional), FILES).await)
        .await;
}

#[tokio::test]
async fn a_certificate_assertion_redeems_an_authorization_code() {
    let server = TestServer::start().await;
    let callback = "http://localhost:5000/daemon-cb";
    let browser = server.browser();
    let params = [
        ("client_id", DAEMON),
        ("redirect_uri", callback),
        ("response_type", "code"),
        ("resource", FILES),
        ("state", "s"),
    ];
    let outcome = server
        .sign_in(
            &browser,
            &server.authorize_url(TENANT, &params),
            "frank@contoso.example",
            "frank-password",
        )
        .await;
    let code = outcome.delivered()["code"].clone();
    let assertion = daemon_assertion(&msal_python_header(), &daemon_claims(&server));
    let rest = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", callback),
    ];
    let body = token_of(
        server
            .token(TENANT, &with_assertion(&assertion, &rest))
            .await,
    )
    .await;
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], "frank@contoso.example");
    assert_eq!(access["appidacr"], "2");
}

#[tokio::test]
async fn a_certificate_assertion_authenticates_an_on_behalf_of_exchange() {
    // Contoso Todo API, the middle tier, with the daemon's certificate
    // beside its secret (an app may have both, as in Azure AD).
    const TODO_API: &str = "7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a";
    let fixture = include_str!("../../../../../tests/fixtures/directory.toml");
    let anchor = "  grant_types = [\"on_behalf_of\", \"refresh_token\"]\n";
    assert!(fixture.contains(anchor));
    let certificate = &DAEMON_PEM[DAEMON_PEM.find("-----BEGIN CERTIFICATE-----").unwrap()..];
    let directory = fixture.replacen(
        anchor,
        &format!(
            "{anchor}    [[tenants.apps.certificates]]\n    pem = \"\"\"\n{certificate}\"\"\"\n"
        ),
        1,
    );
    let server = TestServer::start_with_directory(&directory, |_| {}).await;
    let user = token_of(
        server
            .token(
                TENANT,
                &[
                    ("grant_type", "password"),
                    ("client_id", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"),
                    ("username", "ben@contoso.example"),
                    ("password", "ben-password"),
                    ("resource", "api://todo.contoso.example"),
                ],
            )
            .await,
    )
    .await;
    let mut middle_tier = daemon_claims(&server);
    middle_tier["iss"] = json!(TODO_API);
    middle_tier["sub"] = json!(TODO_API);
    let assertion = daemon_assertion(&msal_python_header(), &middle_tier);
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("client_id", TODO_API),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
                ("requested_token_use", "on_behalf_of"),
                ("assertion", user["access_token"].as_str().unwrap()),
                ("resource", "https://graph.contoso.example/"),
            ],
        )
        .await;
    let body = token_of(response).await;
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], "ben@contoso.example");
    assert_eq!(access["appid"], TODO_API);
    assert_eq!(access["appidacr"], "2");
}

mod refusals;
