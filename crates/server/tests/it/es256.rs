//! ES256 per tenant (issue 18): Contoso signs with `signing_alg = "ES256"`,
//! Fabrikam keeps RS256. Each tenant's tokens verify with the key of its
//! kind that the JWKS publishes; the two kinds rotate apart.

use std::time::Duration;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use latchkey_server::keys::{SigningAlg, SigningKey};
use latchkey_server::store::{DirectoryStore, SqliteStore, Store};
use serde_json::{Value, json};

use crate::harness::*;

const FABRIKAM: &str = "3a9c5e1f-8b2d-4c6e-9f01-2d3e4f5a6b7c";
const TODO_API: &str = "7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a";
const TODO_SECRET: &str = "todo-api-secret-0123456789-abcdefghijk";
const TODO_NATIVE: &str = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn es256_server() -> TestServer {
    es256_server_with(|_| {}).await
}

async fn es256_server_with(
    configure: impl FnOnce(&mut latchkey_server::ServerConfig),
) -> TestServer {
    TestServer::start_with_directory(&contoso_with("signing_alg = \"ES256\""), configure).await
}

fn header_text(jwt: &str) -> String {
    String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn kid_of(jwt: &str) -> String {
    let header: Value = serde_json::from_str(&header_text(jwt)).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn access_token(server: &TestServer, tenant: &str, params: &[(&str, &str)]) -> String {
    let response = server.token(tenant, params).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn contoso_app_token(server: &TestServer) -> String {
    access_token(
        server,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("resource", FILES),
        ],
    )
    .await
}

async fn fabrikam_app_token(server: &TestServer) -> String {
    access_token(
        server,
        FABRIKAM,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", FABRIKAM_DAEMON),
            ("client_secret", FABRIKAM_SECRET),
            ("resource", "api://fabrikam"),
        ],
    )
    .await
}

/// The JWKS's raw text (its members' order is part of the contract).
async fn jwks_text(server: &TestServer, path: &str) -> String {
    let response = server
        .http
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Verifies an ES256 JWT with the EC JWK the JWKS publishes under its kid.
async fn verify_es256_with_jwks(server: &TestServer, jwt: &str) {
    let (_, jwks) = server.get_json("/common/discovery/keys").await;
    let kid = kid_of(jwt);
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's kid is published");
    assert_eq!(key["kty"], "EC");
    let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap();
    let mut point = vec![4];
    point.extend(coordinate("x"));
    point.extend(coordinate("y"));
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_eq!(signature.len(), 64, "JWS ECDSA: r || s");
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(signed.as_bytes(), &signature)
        .expect("the signature verifies");
}

#[tokio::test]
async fn an_es256_tenants_tokens_verify_with_its_published_ec_key() {
    let server = es256_server().await;
    let token = contoso_app_token(&server).await;
    let kid = kid_of(&token);
    assert_eq!(
        header_text(&token),
        format!(r#"{{"typ":"JWT","alg":"ES256","x5t":"{kid}","kid":"{kid}"}}"#)
    );
    verify_es256_with_jwks(&server, &token).await;
    assert_eq!(claims(&token)["tid"], TENANT);

    // ID tokens too (the password grant with `openid`).
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    for jwt in [&body["access_token"], &body["id_token"]] {
        let jwt = jwt.as_str().unwrap();
        assert_eq!(kid_of(jwt), kid);
        verify_es256_with_jwks(&server, jwt).await;
    }
}

#[tokio::test]
async fn the_jwks_publishes_both_kinds_in_their_shapes() {
    let server = es256_server().await;
    let rsa_kid = kid_of(&fabrikam_app_token(&server).await);
    let ec_kid = kid_of(&contoso_app_token(&server).await);
    let common = jwks_text(&server, "/common/discovery/keys").await;
    for path in [
        format!("/{TENANT}/discovery/keys"),
        format!("/{TENANT}/discovery/v2.0/keys"),
        format!("/{FABRIKAM}/discovery/keys"),
    ] {
        assert_eq!(jwks_text(&server, &path).await, common, "{path}");
    }
    let jwks: Value = serde_json::from_str(&common).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let (rsa, ec) = (&keys[0], &keys[1]);
    let x5c = |key: &Value| STANDARD.decode(key["x5c"][0].as_str().unwrap()).unwrap();
    let thumbprint = |der: &[u8]| {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            der,
        ))
    };
    // RSA first, unchanged; then EC with exactly these members.
    let names = |key: &Value| {
        let mut names: Vec<String> = key.as_object().unwrap().keys().cloned().collect();
        names.sort();
        names
    };
    assert_eq!(rsa["kid"], rsa_kid.as_str());
    assert_eq!(names(rsa), ["e", "kid", "kty", "n", "use", "x5c", "x5t"]);
    let x = ec["x"].as_str().unwrap();
    let y = ec["y"].as_str().unwrap();
    assert_eq!(
        *ec,
        json!({"kty": "EC", "use": "sig", "crv": "P-256", "kid": ec_kid, "x5t": ec_kid,
               "x": x, "y": y, "x5c": [ec["x5c"][0].as_str().unwrap()]})
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(x).unwrap().len(), 32);
    assert_eq!(URL_SAFE_NO_PAD.decode(y).unwrap().len(), 32);
    for key in [rsa, ec] {
        assert_eq!(thumbprint(&x5c(key)), key["x5t"].as_str().unwrap());
    }
}

#[tokio::test]
async fn discovery_names_each_tenants_algorithm() {
    let server = es256_server().await;
    let algs = |path: String| {
        let server = &server;
        async move {
            let (status, doc) = server.get_json(&path).await;
            assert_eq!(status, 200);
            doc["id_token_signing_alg_values_supported"].clone()
        }
    };
    for version in ["", "v2.0/"] {
        assert_eq!(
            algs(format!(
                "/{TENANT}/{version}.well-known/openid-configuration"
            ))
            .await,
            json!(["ES256"])
        );
        assert_eq!(
            algs(format!(
                "/{FABRIKAM}/{version}.well-known/openid-configuration"
            ))
            .await,
            json!(["RS256"])
        );
        assert_eq!(
            algs(format!("/common/{version}.well-known/openid-configuration")).await,
            json!(["RS256", "ES256"])
        );
    }
}

#[tokio::test]
async fn an_rs256_tenant_next_to_an_es256_one_is_unchanged() {
    let server = es256_server().await;
    let token = fabrikam_app_token(&server).await;
    let kid = kid_of(&token);
    assert_eq!(
        header_text(&token),
        format!(r#"{{"typ":"JWT","alg":"RS256","x5t":"{kid}","kid":"{kid}"}}"#)
    );
    verify_with_jwks(&server, &token).await;
    // A server whose tenants all sign with RS256 makes no EC key at all.
    let plain = TestServer::start().await;
    let (_, jwks) = plain.get_json("/common/discovery/keys").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
}

#[tokio::test]
async fn a_rotation_of_one_kind_keeps_the_other() {
    let server = es256_server_with(|config| {
        config.key_reload_interval = Duration::from_millis(100);
    })
    .await;
    let ec_kid = kid_of(&contoso_app_token(&server).await);
    let rsa_kid = kid_of(&fabrikam_app_token(&server).await);
    // `keys rotate` (RS256) from another process: a new RSA key signing now.
    let store = SqliteStore::open(&server.db_path).await.unwrap();
    // A second later than the first key: keys made in the same second
    // sign in the order of their kids, which would make this a coin toss.
    let now = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let fresh = SigningKey::generate(now, SigningAlg::Rs256).unwrap();
    store.insert_signing_key(&fresh).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while kid_of(&fabrikam_app_token(&server).await) != fresh.kid {
        assert!(std::time::Instant::now() < deadline, "the new key signs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The EC key still signs Contoso's tokens; all three are published.
    assert_eq!(kid_of(&contoso_app_token(&server).await), ec_kid);
    let (_, jwks) = server.get_json("/common/discovery/keys").await;
    let kids: Vec<(&str, &str)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kty"].as_str().unwrap(), k["kid"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kids,
        [
            ("RSA", rsa_kid.as_str()),
            ("RSA", fresh.kid.as_str()),
            ("EC", ec_kid.as_str())
        ]
    );
}

#[tokio::test]
async fn on_behalf_of_takes_this_servers_es256_assertion_only_as_es256() {
    let server = es256_server().await;
    let assertion = access_token(
        &server,
        TENANT,
        &[
            ("grant_type", "password"),
            ("client_id", TODO_NATIVE),
            ("username", "ben@contoso.example"),
            ("password", "ben-password"),
            ("resource", "api://todo.contoso.example"),
        ],
    )
    .await;
    let obo = |assertion: String| {
        let server = &server;
        async move {
            server
                .token(
                    TENANT,
                    &[
                        ("grant_type", JWT_BEARER),
                        ("client_id", TODO_API),
                        ("client_secret", TODO_SECRET),
                        ("requested_token_use", "on_behalf_of"),
                        ("assertion", assertion.as_str()),
                        ("resource", "https://graph.contoso.example/"),
                    ],
                )
                .await
        }
    };
    let response = obo(assertion.clone()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    verify_es256_with_jwks(&server, body["access_token"].as_str().unwrap()).await;

    // The same token claiming RS256: its alg is not its key's.
    let kid = kid_of(&assertion);
    let (_, rest) = assertion.split_once('.').unwrap();
    let relabelled = format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "RS256", "kid": kid}).to_string())
    );
    let message = format!(
        "Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{kid}']"
    );
    assert_token_error(
        obo(relabelled).await,
        Expected::new(400, "invalid_grant", 50013, &message),
    )
    .await;
}

#[tokio::test]
async fn logout_takes_an_es256_id_token_hint() {
    let server = es256_server().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
                ("scope", "openid"),
            ],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap().to_owned();
    let browser = server.browser();
    let sign_out = |hint: String| {
        let browser = &browser;
        let url = format!(
            "{}/{TENANT}/oauth2/v2.0/logout?{}",
            server.base,
            form(&[
                ("post_logout_redirect_uri", "http://localhost:5000/callback"),
                ("id_token_hint", &hint),
            ])
        );
        async move { browser.get(url).send().await.unwrap() }
    };
    let response = sign_out(id_token.clone()).await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "http://localhost:5000/callback"
    );
    // Relabelled RS256, the hint names nobody: the signed-out page.
    let (_, rest) = id_token.split_once('.').unwrap();
    let kid = kid_of(&id_token);
    let relabelled = format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "RS256", "kid": kid}).to_string())
    );
    assert_eq!(sign_out(relabelled).await.status(), 200);
}

#[tokio::test]
async fn a_tenant_another_process_switches_to_es256_gets_an_ec_key_at_reload() {
    let server =
        TestServer::start_with(|c| c.key_reload_interval = Duration::from_millis(50)).await;
    let before = contoso_app_token(&server).await;
    assert!(
        header_text(&before).contains(r#""alg":"RS256""#),
        "{}",
        header_text(&before)
    );
    // Another replica starts with Contoso on ES256: its directory reaches
    // the store, and this server's next reload makes the EC key it needs.
    let other = SqliteStore::open(&server.db_path).await.unwrap();
    let directory =
        latchkey_server::directory::parse_directory(&contoso_with("signing_alg = \"ES256\""))
            .unwrap()
            .directory;
    other.apply_directory(&directory).await.unwrap();
    for _ in 0..100 {
        let token = contoso_app_token(&server).await;
        if header_text(&token).contains(r#""alg":"ES256""#) {
            verify_es256_with_jwks(&server, &token).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never signed Contoso's tokens with ES256");
}
