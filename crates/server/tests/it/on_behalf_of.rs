//! On-behalf-of (`urn:ietf:params:oauth:grant-type:jwt-bearer`,
//! `requested_token_use=on_behalf_of`): Contoso Todo API, one app
//! registration that is both an API and a confidential client, exchanges
//! the token Ben's client (Contoso Todo Native) got for it for a token to
//! Contoso Graph that keeps Ben; each refusal from its real condition, byte
//! for byte; two exchanges of one assertion at once on both engines.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_server::secrets::Digest;
use latchkey_server::store::{SqliteStore, Store};
use latchkey_server::{Clock, ServerConfig};
use serde_json::Value;

use crate::harness::*;

/// The middle tier: Contoso Todo API's client id is its API's `app_id`.
const TODO_API: &str = "7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a";
const TODO_SECRET: &str = "todo-api-secret-0123456789-abcdefghijk";
const TODO_URI: &str = "api://todo.contoso.example";
/// Public: gets the user's token to the Todo API (password grant).
const TODO_NATIVE: &str = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5";
/// The downstream API.
const GRAPH: &str = "https://graph.contoso.example/";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const BEN: &str = "ben@contoso.example";

/// A user's v1 token to the Todo API, from Contoso Todo Native.
async fn user_token(server: &TestServer, upn: &str, password: &str) -> String {
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", TODO_NATIVE),
                ("username", upn),
                ("password", password),
                ("resource", TODO_URI),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn ben_token(server: &TestServer) -> String {
    user_token(server, BEN, "ben-password").await
}

/// Ben's v2.0 token to the Todo API: its `aud` is the API's `app_id`.
async fn ben_token_v2(server: &TestServer) -> String {
    let response = v2(
        server,
        &[
            ("grant_type", "password"),
            ("client_id", TODO_NATIVE),
            ("username", BEN),
            ("password", "ben-password"),
            ("scope", "api://todo.contoso.example/access_as_user"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn v2(server: &TestServer, params: &[(&str, &str)]) -> reqwest::Response {
    server
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(params))
        .send()
        .await
        .unwrap()
}

/// The Todo API's v1 on-behalf-of request for Graph, with `extra` (a
/// parameter named in `extra` replaces the default; an empty value drops it).
fn obo_params<'a>(assertion: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("grant_type", JWT_BEARER),
        ("client_id", TODO_API),
        ("client_secret", TODO_SECRET),
        ("requested_token_use", "on_behalf_of"),
        ("assertion", assertion),
        ("resource", GRAPH),
    ];
    for (name, value) in extra {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    params
}

async fn obo(server: &TestServer, assertion: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    server.token(TENANT, &obo_params(assertion, extra)).await
}

fn kid_of(jwt: &str) -> String {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// `jwt` with its claims changed by `edit` and its signature kept.
fn with_claims(jwt: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut claims = claims(jwt);
    edit(&mut claims);
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

/// `jwt` with its header replaced by `header`, signature kept.
fn with_header(jwt: &str, header: Value) -> String {
    let (_, rest) = jwt.split_once('.').unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn a_users_token_to_the_middle_tier_becomes_one_to_the_downstream_api() {
    let server = TestServer::start().await;
    let assertion = ben_token(&server).await;
    let user = claims(&assertion);
    assert_eq!(user["aud"], TODO_URI);
    assert_eq!(user["amr"], serde_json::json!(["pwd"]));

    let response = obo(&server, &assertion, &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], GRAPH);
    // No scope asked: what Ben consented to of what the app is permitted
    // (User.Read; Mail.Read is permitted but not consented).
    assert_eq!(body["scope"], "User.Read");
    assert!(body.get("id_token").is_none(), "no openid, no ID token");
    let token = body["access_token"].as_str().unwrap();
    verify_with_jwks(&server, token).await;
    let downstream = claims(token);
    assert_eq!(downstream["aud"], GRAPH);
    assert_eq!(downstream["iss"], format!("{}/{TENANT}/", server.base));
    assert_eq!(downstream["ver"], "1.0");
    assert_eq!(downstream["oid"], user["oid"], "the same user");
    assert_eq!(downstream["upn"], BEN);
    assert_eq!(downstream["tid"], TENANT);
    assert_eq!(downstream["scp"], "User.Read");
    assert_eq!(downstream["appid"], TODO_API, "issued to the middle tier");
    assert_eq!(downstream["appidacr"], "1");
    assert_eq!(downstream["amr"], user["amr"], "the assertion's amr");
    assert_ne!(downstream["sub"], user["sub"], "sub is per application");

    // The middle tier may refresh (Azure AD gives it a refresh token): the
    // refreshed token keeps the user and the downstream API.
    let refresh_token = body["refresh_token"].as_str().expect("a refresh token");
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", TODO_API),
                ("client_secret", TODO_SECRET),
                ("refresh_token", refresh_token),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let refreshed: Value = response.json().await.unwrap();
    let again = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(again["aud"], GRAPH);
    assert_eq!(again["oid"], user["oid"]);
    assert_eq!(again["scp"], "User.Read");
}

#[tokio::test]
async fn a_v2_exchange_takes_a_v2_assertion_whose_audience_is_the_app_id() {
    let server = TestServer::start().await;
    let assertion = ben_token_v2(&server).await;
    let user = claims(&assertion);
    assert_eq!(
        user["aud"], TODO_API,
        "v2 tokens name the API by its app_id"
    );
    assert_eq!(user["ver"], "2.0");

    let response = v2(
        &server,
        &[
            ("grant_type", JWT_BEARER),
            ("client_id", TODO_API),
            ("client_secret", TODO_SECRET),
            ("requested_token_use", "on_behalf_of"),
            ("assertion", &assertion),
            (
                "scope",
                "https://graph.contoso.example/User.Read openid offline_access",
            ),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["expires_in"].is_u64(), "the v2.0 shape: {body}");
    assert!(body.get("resource").is_none());
    assert_eq!(
        body["scope"],
        "https://graph.contoso.example/User.Read openid offline_access"
    );
    assert!(body["refresh_token"].is_string());
    let id = claims(body["id_token"].as_str().expect("openid: an ID token"));
    assert_eq!(id["aud"], TODO_API);
    assert_eq!(id["preferred_username"], BEN);
    let token = body["access_token"].as_str().unwrap();
    verify_with_jwks(&server, token).await;
    let downstream = claims(token);
    assert_eq!(downstream["aud"], GRAPH);
    assert_eq!(downstream["iss"], format!("{}/{TENANT}/v2.0", server.base));
    assert_eq!(downstream["ver"], "2.0");
    assert_eq!(downstream["azp"], TODO_API);
    assert_eq!(downstream["oid"], user["oid"]);
    assert_eq!(downstream["upn"], BEN);
    assert_eq!(downstream["scp"], "User.Read");
    assert_eq!(downstream["amr"], serde_json::json!(["pwd"]));

    // Either generation's assertion at either endpoint: only `aud` decides.
    let v1_assertion = ben_token(&server).await;
    let response = v2(
        &server,
        &[
            ("grant_type", JWT_BEARER),
            ("client_id", TODO_API),
            ("client_secret", TODO_SECRET),
            ("requested_token_use", "on_behalf_of"),
            ("assertion", &v1_assertion),
            ("scope", "https://graph.contoso.example/.default"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = obo(&server, &assertion, &[]).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(claims(body["access_token"].as_str().unwrap())["ver"], "1.0");
}

#[tokio::test]
async fn the_users_consent_decides_the_scopes() {
    let server = TestServer::start().await;
    let assertion = ben_token(&server).await;
    let consent_required = "The user or administrator has not consented to use the application with ID '7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a' named 'Contoso Todo API'. Send an interactive authorization request for this user and resource.";
    // Mail.Read: the app is permitted it, Ben never consented.
    let response = obo(&server, &assertion, &[("scope", "Mail.Read")]).await;
    let mut expected = Expected::new(400, "invalid_grant", 65001, consent_required);
    expected.suberror = Some("consent_required");
    assert_token_error(response, expected).await;
    let response = obo(&server, &assertion, &[("scope", "User.Read")]).await;
    assert_eq!(response.status(), 200);

    // Petra consented to the native client calling the Todo API, not to
    // the Todo API calling Graph for her.
    let petra = user_token(&server, "petra@contoso.example", "petra-password").await;
    let response = obo(&server, &petra, &[]).await;
    let mut expected = Expected::new(400, "invalid_grant", 65001, consent_required);
    expected.suberror = Some("consent_required");
    assert_token_error(response, expected).await;
}

#[tokio::test]
async fn requested_token_use_and_assertion_are_required() {
    let server = TestServer::start().await;
    let assertion = ben_token(&server).await;
    let response = obo(&server, &assertion, &[("requested_token_use", "")]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'requested_token_use'.",
        ),
    )
    .await;
    let response = obo(&server, &assertion, &[("requested_token_use", "bearer")]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            9002313,
            "Invalid request. The requested_token_use 'bearer' is not supported; an on-behalf-of request sends 'on_behalf_of'.",
        ),
    )
    .await;
    let response = obo(&server, "", &[]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'assertion'.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_malformed_assertion_is_invalid_jwt() {
    let server = TestServer::start().await;
    let token = ben_token(&server).await;
    let (signed, _) = token.rsplit_once('.').unwrap();
    for malformed in [
        "not-a-jwt".to_owned(),
        signed.to_owned(),
        format!("{signed}.not*base64"),
        format!("{}.e30.sig", URL_SAFE_NO_PAD.encode("[]")),
    ] {
        let response = obo(&server, &malformed, &[]).await;
        assert_token_error(
            response,
            Expected::new(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
            ),
        )
        .await;
    }
}

#[tokio::test]
async fn an_assertion_not_signed_by_this_authority_is_refused() {
    let server = TestServer::start().await;
    // Another Latchkey (its own signing key) issued Ben a token for the
    // same API: this server does not publish that key.
    let elsewhere = TestServer::start().await;
    let foreign = ben_token(&elsewhere).await;
    let response = obo(&server, &foreign, &[]).await;
    let message = format!(
        "Assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{}']",
        kid_of(&foreign)
    );
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 50013, &message),
    )
    .await;

    // This server's token, altered: the signature no longer matches.
    let token = ben_token(&server).await;
    let altered = with_claims(&token, |c| c["upn"] = "frank@contoso.example".into());
    let response = obo(&server, &altered, &[]).await;
    let message = format!(
        "Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{}']",
        kid_of(&token)
    );
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 50013, &message),
    )
    .await;
    // `alg: none` (RFC 8725 §2.1) with the real key's id: refused alike.
    let unsigned = with_header(
        &token,
        serde_json::json!({"typ": "JWT", "alg": "none", "kid": kid_of(&token)}),
    );
    let response = obo(&server, &unsigned, &[]).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 50013, &message),
    )
    .await;
}

#[tokio::test]
async fn an_assertion_from_another_issuer_is_refused() {
    // The same store (and so the same signing key) served under another
    // public URL: tokens issued before the change name the old issuer.
    let server = TestServer::start().await;
    let assertion = ben_token(&server).await;
    let store = SqliteStore::open(&server.db_path).await.unwrap();
    let renamed = "https://login.contoso.example";
    let router = latchkey_server::router(ServerConfig::new(renamed.to_owned()), Arc::new(store))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/{TENANT}/oauth2/token",
        listener.local_addr().unwrap()
    );
    let task = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service).await.unwrap();
    });
    let response = server
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&obo_params(&assertion, &[])))
        .send()
        .await
        .unwrap();
    let message = format!(
        "Assertion is invalid: its issuer '{}/{TENANT}/' is not this tenant's. Request a new token from this tenant's authority and use it as the assertion.",
        server.base
    );
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 50013, &message),
    )
    .await;
    task.abort();
}

#[tokio::test]
async fn an_expired_assertion_is_refused() {
    let clock = Clock::adjustable();
    let server = TestServer::start_with(|c| c.clock = clock.clone()).await;
    let assertion = ben_token(&server).await;
    let user = claims(&assertion);
    clock.advance(Duration::from_secs(3600));
    let response = obo(&server, &assertion, &[]).await;
    let nbf = user["nbf"].as_i64().unwrap();
    let exp = user["exp"].as_i64().unwrap();
    let mut expected = Expected::new(400, "invalid_grant", 500133, "");
    expected.clock_ahead = Duration::from_secs(3600);
    assert_token_error_naming(response, expected, |doc| {
        // The document's timestamp is the request's time, to the second.
        let now = doc["timestamp"].as_str().unwrap().replacen(' ', "T", 1);
        format!(
            "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: {now}, assertion valid from {}, expiry time of assertion {}.",
            rfc3339(nbf),
            rfc3339(exp)
        )
    })
    .await;
}

#[tokio::test]
async fn an_assertion_for_another_audience_is_refused() {
    let server = TestServer::start().await;
    // Frank's token to Contoso Files (from Contoso CLI): not the Todo API.
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
            ],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let files_token = body["access_token"].as_str().unwrap();
    let response = obo(&server, files_token, &[]).await;
    let message = "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was 'https://files.contoso.example/' and the expected audience is '7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a' or one of the Application Uris of this application with App ID '7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a'(Contoso Todo API). The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion.";
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 500131, message),
    )
    .await;

    // An app that exposes no API has no token it could exchange: Contoso
    // Web may not use the grant at all.
    let assertion = ben_token(&server).await;
    let response = server
        .token(
            TENANT,
            &obo_params(
                &assertion,
                &[("client_id", WEB), ("client_secret", WEB_SECRET)],
            ),
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "unauthorized_client",
            70000,
            "The application '2d4d11a2-f814-46a7-890a-274a72a7309e' is not allowed to use the grant type 'on_behalf_of'.",
        ),
    )
    .await;
}

#[tokio::test]
async fn an_id_token_is_not_an_assertion() {
    let server = TestServer::start().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", TODO_NATIVE),
                ("username", BEN),
                ("password", "ben-password"),
                ("resource", TODO_URI),
                ("scope", "openid"),
            ],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let response = obo(&server, id_token, &[]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_grant",
            240002,
            "Input id_token cannot be used as 'urn:ietf:params:oauth:grant-type:jwt-bearer' grant.",
        ),
    )
    .await;
}

#[tokio::test]
async fn an_app_only_token_is_refused() {
    let server = TestServer::start().await;
    // Contoso Robot's client-credentials token to the Todo API: no user.
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", ROBOT),
                ("client_secret", ROBOT_SECRET),
                ("resource", TODO_URI),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let app_token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(app_token)["aud"], TODO_URI);
    let response = obo(&server, app_token, &[]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "unauthorized_client",
            7000114,
            "Application '7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a' is not allowed to make application on-behalf-of calls.",
        ),
    )
    .await;
}

#[tokio::test]
async fn the_app_needs_a_permission_on_the_downstream_api() {
    let server = TestServer::start().await;
    let assertion = ben_token(&server).await;
    let response = obo(
        &server,
        &assertion,
        &[("resource", "https://reports.contoso.example/")],
    )
    .await;
    assert_token_error(
        response,
        Expected::new(
            401,
            "invalid_client",
            650057,
            "Invalid resource. The client has requested access to a resource which is not listed in the requested permissions in the client's application registration. Client app ID: 7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a(Contoso Todo API). Resource value from request: https://reports.contoso.example/. List of valid resources from app registration: https://graph.contoso.example/.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_public_client_has_no_secret_to_present() {
    let server = TestServer::start().await;
    let assertion = ben_token(&server).await;
    let response = server
        .token(
            TENANT,
            &obo_params(
                &assertion,
                &[("client_id", TODO_NATIVE), ("client_secret", "")],
            ),
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_user_deleted_since_is_refused() {
    let server = TestServer::start().await;
    let assertion = ben_token(&server).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", server.db_path.display()))
        .await
        .unwrap();
    sqlx::query("DELETE FROM users WHERE upn = $1")
        .bind(BEN)
        .execute(&pool)
        .await
        .unwrap();
    let response = obo(&server, &assertion, &[]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_grant",
            50034,
            "The user account ben@contoso.example does not exist in the '7fe81447-da57-4385-becb-6de57f21477e' directory. To sign into this application, the account must be added to the directory.",
        ),
    )
    .await;
}

#[tokio::test]
async fn discovery_names_the_grant_by_its_wire_name() {
    let server = TestServer::start().await;
    for path in [
        format!("/{TENANT}/.well-known/openid-configuration"),
        format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
    ] {
        let (_, doc) = server.get_json(&path).await;
        let grants = doc["grant_types_supported"].as_array().unwrap();
        assert!(grants.contains(&JWT_BEARER.into()), "{path}: {grants:?}");
        assert!(!grants.contains(&"on_behalf_of".into()));
    }
}

/// Two exchanges of one assertion at once: an assertion is not spent
/// (Azure AD answers both), so both get tokens, no 5xx, and the store holds
/// one refresh-token family of each, both current and each refreshable.
pub async fn two_exchanges_of_one_assertion_at_once(store: Arc<dyn Store>) {
    let server = TestServer::start_on(store.clone()).await;
    let assertion = ben_token(&server).await;
    let oid = claims(&assertion)["oid"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let (a, b) = tokio::join!(obo(&server, &assertion, &[]), obo(&server, &assertion, &[]));
        let mut refresh_tokens = Vec::new();
        let mut families = Vec::new();
        for response in [a, b] {
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            let token = claims(body["access_token"].as_str().unwrap());
            assert_eq!(token["oid"], oid.as_str());
            assert_eq!(token["aud"], GRAPH);
            let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
            let record = store
                .find_refresh_token(&Digest::of(&refresh_token))
                .await
                .unwrap()
                .expect("stored");
            assert_eq!(record.client_id.to_string(), TODO_API);
            assert_eq!(record.user_oid.to_string(), oid);
            assert_eq!(record.resource, GRAPH);
            assert_eq!(record.granted_scope, "User.Read");
            assert!(record.used_at.is_none() && record.revoked_at.is_none());
            families.push(record.family_id);
            refresh_tokens.push(refresh_token);
        }
        assert_ne!(families[0], families[1], "a family each");
        for refresh_token in &refresh_tokens {
            let response = server
                .token(
                    TENANT,
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", TODO_API),
                        ("client_secret", TODO_SECRET),
                        ("refresh_token", refresh_token),
                    ],
                )
                .await;
            assert_eq!(response.status(), 200);
        }
    }
}

mod two_exchanges_at_once {
    #[tokio::test]
    async fn sqlite() {
        crate::store::on_sqlite(super::two_exchanges_of_one_assertion_at_once).await
    }

    #[tokio::test]
    async fn postgres() {
        crate::store::on_postgres(super::two_exchanges_of_one_assertion_at_once).await
    }
}
