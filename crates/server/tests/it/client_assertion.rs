//! Client assertions (RFC 7523 §2.2) as the client's credential: a
//! certificate's (`private_key_jwt`, Contoso Daemon's registered
//! certificate, whose key is in tests/fixtures/contoso-daemon.pem) and a
//! federated issuer's (workload identity federation, an issuer of the
//! test's own), on every grant that authenticates a client, each refusal
//! pinned byte for byte.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::harness::*;

pub const DAEMON: &str = "c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f";
const REPORTS: &str = "https://reports.contoso.example/";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CERT_DOCS: &str =
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";
const FED_DOCS: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// The daemon's certificate and its private key (a test key).
const DAEMON_PEM: &str = include_str!("../../../../tests/fixtures/contoso-daemon.pem");

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

fn daemon_cert() -> Vec<u8> {
    pem_block("CERTIFICATE")
}

fn sha1_thumbprint(der: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// `header.claims`, signed by `sign`.
fn jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
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
fn daemon_claims(server: &TestServer) -> Value {
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
fn msal_python_header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(sha1_thumbprint(&daemon_cert())) + "="})
}

/// Contoso Daemon's assertion, signed with its certificate's key.
fn daemon_assertion(header: &Value, claims: &Value) -> String {
    let alg = header["alg"].as_str().unwrap().to_owned();
    jws(header, claims, |m| rsa_sign(&daemon_key(), &alg, m))
}

fn with_assertion<'a>(assertion: &'a str, rest: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("client_id", DAEMON),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    params.extend_from_slice(rest);
    params
}

async fn client_credentials(
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

async fn token_of(response: reqwest::Response) -> Value {
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

/// Posts Contoso Daemon's client-credentials request with `assertion`
/// and checks the refusal byte for byte.
async fn refused(server: &TestServer, assertion: &str, expected: Expected<'_>) {
    assert_token_error(client_credentials(server, assertion, FILES).await, expected).await;
}

const NOT_REGISTERED: &str = "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{t}', Please check the certificates registered for app Id 'c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f' in the directory.]";

#[tokio::test]
async fn forged_and_misdirected_certificate_assertions_are_refused() {
    let server = TestServer::start().await;
    let header = msal_python_header();
    let good = daemon_claims(&server);
    let thumbprint = hex(&sha1_thumbprint(&daemon_cert()));

    // A bad signature: the claims changed after signing.
    let signed = daemon_assertion(&header, &good);
    let mut parts: Vec<&str> = signed.split('.').collect();
    let mut altered = good.clone();
    altered["exp"] = json!(unix_now() + 900);
    let altered_claims = b64(&altered);
    parts[1] = &altered_claims;
    let message = format!(
        "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}']"
    );
    refused(
        &server,
        &parts.join("."),
        Expected::new(401, "invalid_client", 700027, &message),
    )
    .await;

    // An unregistered certificate's thumbprint.
    let other = [7u8; 20];
    let unknown = json!({"alg": "RS256", "x5t": URL_SAFE_NO_PAD.encode(other)});
    let message = NOT_REGISTERED.replace("{t}", &hex(&other));
    refused(
        &server,
        &daemon_assertion(&unknown, &good),
        Expected::new(401, "invalid_client", 700027, &message),
    )
    .await;

    // No thumbprint at all.
    refused(
        &server,
        &daemon_assertion(&json!({"alg": "RS256"}), &good),
        Expected::new(401, "invalid_client", 5002723, "Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header."),
    )
    .await;

    // `aud` another token endpoint.
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token");
    let message = format!(
        "Client assertion audience claim does not match Realm issuer. Review the documentation at {CERT_DOCS} . The audience must be the token endpoint, such as '{}'.",
        server.token_url(TENANT)
    );
    refused(
        &server,
        &daemon_assertion(&header, &wrong_aud),
        Expected::new(401, "invalid_client", 700023, &message),
    )
    .await;

    // `sub` is not the client id.
    let mut wrong_sub = good.clone();
    wrong_sub["sub"] = json!(WEB);
    let message = format!(
        "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at {CERT_DOCS} ."
    );
    refused(
        &server,
        &daemon_assertion(&header, &wrong_sub),
        Expected::new(401, "invalid_client", 700021, &message),
    )
    .await;

    // No `iss`.
    let mut no_iss = good.clone();
    no_iss.as_object_mut().unwrap().remove("iss");
    refused(
        &server,
        &daemon_assertion(&header, &no_iss),
        Expected::new(400, "invalid_request", 90014, "The required field 'iss' is missing from the credential. Ensure that you have all the necessary parameters for the login request."),
    )
    .await;

    // Valid for two hours: over the cap.
    let mut long = good.clone();
    long["exp"] = json!(unix_now() + 7_200);
    long["nbf"] = json!(unix_now());
    long["iat"] = json!(unix_now());
    let response = client_credentials(&server, &daemon_assertion(&header, &long), FILES).await;
    let doc: Value = response.json().await.unwrap();
    let description = doc["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(
            "AADSTS700024: Client assertion is not within its valid time range: it is valid for 720"
        ),
        "{description}"
    );
    assert!(description.contains("seconds, longer than the 3600 seconds this server accepts. Create assertions that expire sooner; ten minutes is usual.\r\nTrace ID: "));
}

#[tokio::test]
async fn unsigned_and_hmac_forgeries_are_refused_before_any_key_is_used() {
    let server = TestServer::start().await;
    let claims_ = daemon_claims(&server);
    let x5t = URL_SAFE_NO_PAD.encode(sha1_thumbprint(&daemon_cert()));
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "x5t": x5t})),
        b64(&claims_)
    );
    refused(
        &server,
        &none,
        Expected::new(401, "invalid_client", 5002738, "Invalid JWT token. 'none' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256,ES256'"),
    )
    .await;
    // HS256 keyed with the (public) certificate: the classic confusion.
    let hmac = jws(&json!({"alg": "HS256", "x5t": x5t}), &claims_, |m| {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &daemon_cert());
        aws_lc_rs::hmac::sign(&key, m).as_ref().to_vec()
    });
    refused(
        &server,
        &hmac,
        Expected::new(401, "invalid_client", 5002738, "Invalid JWT token. 'HS256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256,ES256'"),
    )
    .await;
    // ES256 claimed for the RSA certificate: the alg must fit the key.
    let mismatched = daemon_assertion(&json!({"alg": "RS256", "x5t": x5t}), &claims_);
    let (signed, _) = mismatched.rsplit_once('.').unwrap();
    let (_, claims_part) = signed.split_once('.').unwrap();
    let es = format!(
        "{}.{claims_part}.{}",
        b64(&json!({"alg": "ES256", "x5t": x5t})),
        URL_SAFE_NO_PAD.encode([1u8; 64])
    );
    refused(
        &server,
        &es,
        Expected::new(401, "invalid_client", 5002738, "Invalid JWT token. 'ES256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256'"),
    )
    .await;
    // Not a JWS at all.
    refused(
        &server,
        "not.a-jwt",
        Expected::new(
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ),
    )
    .await;
}

#[tokio::test]
async fn expired_and_early_assertions_are_refused_with_their_times() {
    let server = TestServer::start().await;
    let header = msal_python_header();
    let now = unix_now();
    let times = |nbf: i64, exp: i64| {
        let mut c = daemon_claims(&server);
        c["nbf"] = json!(nbf);
        c["iat"] = json!(nbf);
        c["exp"] = json!(exp);
        c
    };
    let azure = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z"
            ))
            .unwrap()
    };
    for (nbf, exp) in [(now - 1_200, now - 600), (now + 900, now + 1_200)] {
        let response =
            client_credentials(&server, &daemon_assertion(&header, &times(nbf, exp)), FILES).await;
        assert_token_error_naming(response, Expected::new(401, "invalid_client", 700024, ""), |doc| {
            // The current time is the request's, to the 100 ns, as Azure
            // AD writes it: its second is the document's timestamp.
            let description = doc["error_description"].as_str().unwrap();
            let at = description.find("Current time: ").unwrap() + 14;
            let current = &description[at..at + 28];
            let second = doc["timestamp"].as_str().unwrap().replacen(' ', "T", 1);
            assert_eq!(&current[..19], &second[..19]);
            assert!(current[20..27].bytes().all(|b| b.is_ascii_digit()) && current.ends_with('Z'));
            format!(
                "Client assertion is not within its valid time range. Current time: {current}, assertion valid from {}, expiry time of assertion {}. Review the documentation at {CERT_DOCS} .",
                azure(nbf),
                azure(exp)
            )
        })
        .await;
    }
}

#[tokio::test]
async fn a_secret_and_an_assertion_together_are_refused() {
    let server = TestServer::start().await;
    let assertion = daemon_assertion(&msal_python_header(), &daemon_claims(&server));
    let response = server
        .token(
            TENANT,
            &with_assertion(
                &assertion,
                &[
                    ("grant_type", "client_credentials"),
                    ("resource", FILES),
                    ("client_secret", "web-secret-0123456789-abcdefghijklmnop"),
                ],
            ),
        )
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002313, "Invalid request. Both a client secret and a client assertion were sent; a client authenticates with one credential."),
    )
    .await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("resource", FILES),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002313, "Invalid request. The client_assertion_type 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' is not supported; send 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."),
    )
    .await;
    // An app with a secret and no certificate: the assertion's key is not
    // registered (no longer "send a client_assertion", which it did).
    let mut web_claims = daemon_claims(&server);
    web_claims["iss"] = json!(WEB);
    web_claims["sub"] = json!(WEB);
    let web_assertion = daemon_assertion(&msal_python_header(), &web_claims);
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("resource", FILES),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &web_assertion),
            ],
        )
        .await;
    let message = NOT_REGISTERED
        .replace("{t}", &hex(&sha1_thumbprint(&daemon_cert())))
        .replace(DAEMON, WEB);
    assert_token_error(
        response,
        Expected::new(401, "invalid_client", 700027, &message),
    )
    .await;
}

/// The test directory with Contoso Daemon taking each assertion once.
fn single_use_directory() -> String {
    let anchor = "  name = \"Contoso Daemon\"\n";
    let fixture = include_str!("../../../../tests/fixtures/directory.toml");
    assert!(fixture.contains(anchor));
    fixture.replacen(
        anchor,
        &format!("{anchor}  single_use_assertions = true\n"),
        1,
    )
}

#[tokio::test]
async fn a_single_use_app_takes_each_assertion_once() {
    let server = TestServer::start_with_directory(&single_use_directory(), |_| {}).await;
    let good = daemon_claims(&server);
    let assertion = daemon_assertion(&msal_python_header(), &good);
    token_of(client_credentials(&server, &assertion, FILES).await).await;
    let jti = good["jti"].as_str().unwrap();
    let message = format!(
        "Invalid JWT token. The client assertion with jti '{jti}' has already been used, and this application accepts each assertion once. Create a new assertion for each request."
    );
    refused(
        &server,
        &assertion,
        Expected::new(401, "invalid_client", 50027, &message),
    )
    .await;
    let mut no_jti = daemon_claims(&server);
    no_jti.as_object_mut().unwrap().remove("jti");
    refused(
        &server,
        &daemon_assertion(&msal_python_header(), &no_jti),
        Expected::new(400, "invalid_request", 90014, "The required field 'jti' is missing from the credential. Ensure that you have all the necessary parameters for the login request."),
    )
    .await;
}

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
