//! Single-page applications: CORS on discovery, keys and the v2.0 token
//! endpoint; codes and refresh tokens of an SPA redirect URI redeemed only
//! cross-origin from its origin, and the refusals Azure AD answers; the
//! SPA family's fixed 24 hours.

use crate::harness::*;

const SPA: &str = "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f";
const SPA_URI: &str = "http://localhost:3000/";
const ORIGIN: &str = "http://localhost:3000";
const WEB_CALLBACK: &str = "http://localhost:5000/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// What tower-http's CORS layer and the token endpoint vary on.
const VARY: &str = "origin, access-control-request-method, access-control-request-headers";

/// Every CORS header of a response (and `vary`), in order, as sent.
fn cors_headers(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-") || *name == "vary")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// What the v2.0 token endpoint answers a request from `ORIGIN`.
fn token_cors(origin: &str) -> Vec<(String, String)> {
    pairs(&[
        ("vary", VARY),
        ("access-control-allow-origin", origin),
        (
            "access-control-expose-headers",
            "x-ms-request-id,client-request-id,retry-after",
        ),
    ])
}

impl TestServer {
    /// POSTs `params` to the v2.0 token endpoint, from `origin` if given.
    async fn token_v2_from(
        &self,
        origin: Option<&str>,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.base))
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(form(params));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().await.unwrap()
    }
}

/// Frank's code for `client` at `redirect_uri` (v2.0, PKCE).
async fn code(server: &TestServer, client: &str, redirect_uri: &str) -> String {
    let b = server.browser();
    let url = format!(
        "{}/{TENANT}/oauth2/v2.0/authorize?{}",
        server.base,
        form(&[
            ("client_id", client),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            (
                "scope",
                "https://files.contoso.example/Files.Read openid offline_access",
            ),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
    );
    let outcome = server
        .sign_in(&b, &url, "frank@contoso.example", "frank-password")
        .await;
    outcome.delivered()["code"].clone()
}

fn spa_redemption(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("client_id", SPA),
        ("code", code),
        ("redirect_uri", SPA_URI),
        ("code_verifier", VERIFIER),
        (
            "scope",
            "https://files.contoso.example/Files.Read openid offline_access",
        ),
    ]
}

fn spa_refresh(token: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "refresh_token"),
        ("client_id", SPA),
        ("refresh_token", token),
        (
            "scope",
            "https://files.contoso.example/Files.Read openid offline_access",
        ),
    ]
}

/// What the v2.0 token endpoint answers a request with no `Origin` (a
/// server's): nothing a browser would act on.
fn no_origin_cors() -> Vec<(String, String)> {
    pairs(&[
        ("vary", VARY),
        (
            "access-control-expose-headers",
            "x-ms-request-id,client-request-id,retry-after",
        ),
    ])
}

/// A 200 token answer to a request from `ORIGIN`: CORS headers pinned.
async fn cross_origin_tokens(response: reqwest::Response) -> serde_json::Value {
    let status = response.status().as_u16();
    let cors = cors_headers(response.headers());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(cors, token_cors(ORIGIN));
    body
}

const NOT_SPA: &str = "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: 'http://localhost:3000'.";
const NO_ORIGIN: &str = "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.";

#[tokio::test]
async fn discovery_and_keys_answer_cors_for_any_origin() {
    let server = TestServer::start().await;
    for path in [
        format!("/{TENANT}/.well-known/openid-configuration"),
        format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
        "/common/.well-known/openid-configuration".to_owned(),
        "/common/v2.0/.well-known/openid-configuration".to_owned(),
        "/organizations/v2.0/.well-known/openid-configuration".to_owned(),
        "/contoso.example/v2.0/.well-known/openid-configuration".to_owned(),
        format!("/{TENANT}/discovery/keys"),
        format!("/{TENANT}/discovery/v2.0/keys"),
        "/common/discovery/keys".to_owned(),
        "/common/discovery/v2.0/keys".to_owned(),
    ] {
        let url = format!("{}{path}", server.base);
        let response = server
            .http
            .get(&url)
            .header("origin", "https://anyone.example")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let cors = cors_headers(response.headers());
        // `organizations` may be no tenant here: what it answers is
        // readable all the same.
        if !path.starts_with("/organizations") {
            assert_eq!(status, 200, "{path}");
        }
        assert_eq!(
            cors,
            pairs(&[("vary", VARY), ("access-control-allow-origin", "*")]),
            "{path}"
        );
        // The preflight of a request with a header of its own.
        let preflight = server
            .http
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", "https://anyone.example")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "x-client-sku")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 200, "{path}");
        assert_eq!(
            cors_headers(preflight.headers()),
            pairs(&[
                ("vary", VARY),
                ("access-control-allow-methods", "GET"),
                ("access-control-allow-headers", "*"),
                ("access-control-max-age", "86400"),
                ("access-control-allow-origin", "*"),
            ]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_v2_token_preflight_allows_what_msal_sends() {
    let server = TestServer::start().await;
    let response = server
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/{TENANT}/oauth2/v2.0/token", server.base),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-anchormailbox,client-request-id",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cors = cors_headers(response.headers());
    assert_eq!(response.text().await.unwrap(), "");
    assert_eq!(
        cors,
        pairs(&[
            ("vary", VARY),
            ("access-control-allow-methods", "POST"),
            (
                "access-control-allow-headers",
                "content-type,x-anchormailbox,client-request-id,return-client-request-id,x-ms-client-request-id,x-client-sku,x-client-ver,x-client-os,x-client-cpu,x-ms-lib-capability,x-client-current-telemetry,x-client-last-telemetry,x-app-name,x-app-ver"
            ),
            ("access-control-max-age", "86400"),
            ("access-control-allow-origin", ORIGIN),
        ])
    );
    // The v1 endpoint has no single-page-application platform: no CORS.
    let v1 = server
        .http
        .request(reqwest::Method::OPTIONS, server.token_url(TENANT))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(cors_headers(v1.headers()).is_empty());
    assert_token_error(
        v1,
        Expected::new(
            400,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests. Received a OPTIONS request.",
        ),
    )
    .await;
}

#[tokio::test]
async fn an_spa_code_is_redeemed_cross_origin_and_its_refresh_token_too() {
    let server = TestServer::start().await;
    let code = code(&server, SPA, SPA_URI).await;
    let tokens = cross_origin_tokens(
        server
            .token_v2_from(Some(ORIGIN), &spa_redemption(&code))
            .await,
    )
    .await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["azp"], SPA);
    assert_eq!(access["azpacr"], "0", "a public client");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refreshed = cross_origin_tokens(
        server
            .token_v2_from(Some(ORIGIN), &spa_refresh(refresh))
            .await,
    )
    .await;
    assert!(refreshed["refresh_token"].is_string());
}

#[tokio::test]
async fn a_web_code_redeemed_cross_origin_is_refused_and_not_spent() {
    let server = TestServer::start().await;
    let code = code(&server, WEB, WEB_CALLBACK).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
        ("code", code.as_str()),
        ("redirect_uri", WEB_CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let response = server.token_v2_from(Some(ORIGIN), &params).await;
    assert_eq!(cors_headers(response.headers()), token_cors(ORIGIN));
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002326, NOT_SPA),
    )
    .await;
    // The web app's own server redeems it afterwards.
    let response = server.token_v2_from(None, &params).await;
    assert_eq!(response.status(), 200);
    assert_eq!(cors_headers(response.headers()), no_origin_cors());
    let body: serde_json::Value = response.json().await.unwrap();
    // …and its refresh token is no more a browser's than its code.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
        ("refresh_token", body["refresh_token"].as_str().unwrap()),
    ];
    let response = server.token_v2_from(Some(ORIGIN), &refresh).await;
    assert_eq!(cors_headers(response.headers()), token_cors(ORIGIN));
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002326, NOT_SPA),
    )
    .await;
    assert_eq!(server.token_v2_from(None, &refresh).await.status(), 200);
}

#[tokio::test]
async fn an_spa_code_without_an_origin_is_refused_and_not_spent() {
    let server = TestServer::start().await;
    let code = code(&server, SPA, SPA_URI).await;
    let response = server.token_v2_from(None, &spa_redemption(&code)).await;
    assert_eq!(cors_headers(response.headers()), no_origin_cors());
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002327, NO_ORIGIN),
    )
    .await;
    // At the v1 endpoint too.
    let mut v1 = spa_redemption(&code);
    v1.retain(|(name, _)| *name != "scope");
    let response = server.token(TENANT, &v1).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002327, NO_ORIGIN),
    )
    .await;
    // Another site's page holding the code gets nothing either.
    let response = server
        .token_v2_from(Some("https://evil.example"), &spa_redemption(&code))
        .await;
    assert_eq!(
        cors_headers(response.headers()),
        token_cors("https://evil.example")
    );
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002326, "Cross-origin token redemption is permitted only from the origin of the 'Single-Page Application' redirect URI the grant was issued for ('http://localhost:3000'). Request origin: 'https://evil.example'."),
    )
    .await;
    let tokens = cross_origin_tokens(
        server
            .token_v2_from(Some(ORIGIN), &spa_redemption(&code))
            .await,
    )
    .await;
    // Its refresh token, from a server: refused the same way.
    let response = server
        .token_v2_from(
            None,
            &spa_refresh(tokens["refresh_token"].as_str().unwrap()),
        )
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002327, NO_ORIGIN),
    )
    .await;
}

#[tokio::test]
async fn other_grants_and_the_v1_endpoint_refuse_cross_origin_requests() {
    let server = TestServer::start().await;
    let response = server
        .token_v2_from(
            Some(ORIGIN),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("scope", "https://files.contoso.example/.default"),
            ],
        )
        .await;
    assert_eq!(cors_headers(response.headers()), token_cors(ORIGIN));
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002326, NOT_SPA),
    )
    .await;
    let response = server
        .token_v2_from(
            Some(ORIGIN),
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("scope", "https://files.contoso.example/Files.Read"),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002326, NOT_SPA),
    )
    .await;
    // v1: refused, and with no CORS (the page cannot even read it).
    let response = server
        .token_with(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("resource", FILES),
            ],
            |r| r.header("origin", ORIGIN),
        )
        .await;
    assert!(cors_headers(response.headers()).is_empty());
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002326, NOT_SPA),
    )
    .await;
}

#[tokio::test]
async fn an_spa_authorization_request_needs_pkce() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = format!(
        "{}/{TENANT}/oauth2/v2.0/authorize?{}",
        server.base,
        form(&[
            ("client_id", SPA),
            ("redirect_uri", SPA_URI),
            ("response_type", "code"),
            ("scope", "https://files.contoso.example/Files.Read"),
            ("state", "s"),
        ])
    );
    let outcome = server.open(&b, &url).await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "invalid_request");
    assert!(delivered["error_description"].starts_with(
        "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.\r\n"
    ));
}

#[tokio::test]
async fn an_spa_family_ends_24_hours_after_its_sign_in_however_it_is_refreshed() {
    let clock = latchkey_server::Clock::adjustable();
    let server = TestServer::start_with(|c| c.clock = clock.clone()).await;
    let code = code(&server, SPA, SPA_URI).await;
    let tokens = cross_origin_tokens(
        server
            .token_v2_from(Some(ORIGIN), &spa_redemption(&code))
            .await,
    )
    .await;
    let signed_in = claims(tokens["access_token"].as_str().unwrap())["iat"]
        .as_i64()
        .unwrap();
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Refreshed every 8 hours: a sliding lifetime would never end.
    for _ in 0..2 {
        clock.advance(std::time::Duration::from_secs(8 * 3600));
        let refreshed = cross_origin_tokens(
            server
                .token_v2_from(Some(ORIGIN), &spa_refresh(&refresh))
                .await,
        )
        .await;
        refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    }
    clock.advance(std::time::Duration::from_secs(8 * 3600 + 1));
    let response = server
        .token_v2_from(Some(ORIGIN), &spa_refresh(&refresh))
        .await;
    assert_eq!(cors_headers(response.headers()), token_cors(ORIGIN));
    let issued_on = time::OffsetDateTime::from_unix_timestamp(signed_in)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_token_error(
        response,
        Expected {
            suberror: Some("bad_token"),
            clock_ahead: std::time::Duration::from_secs(24 * 3600 + 1),
            ..Expected::new(400, "invalid_grant", 700084, &format!("The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page. The token was issued on {issued_on}."))
        },
    )
    .await;
}

#[tokio::test]
async fn a_hybrid_apps_spa_code_is_redeemed_without_its_secret() {
    // Contoso Web with an SPA redirect URI too (web + SPA platforms).
    let web_line = "  redirect_uris = [\"http://localhost:5000/callback\"";
    let directory = include_str!("../../../../tests/fixtures/directory.toml").replacen(
        web_line,
        &format!("  spa_redirect_uris = [\"https://spa.contoso.example/\"]\n{web_line}"),
        1,
    );
    let server = TestServer::start_with_directory(&directory, |_| {}).await;
    let code = code(&server, WEB, "https://spa.contoso.example/").await;
    let mut params = spa_redemption(&code);
    params[1] = ("client_id", WEB);
    params[3] = ("redirect_uri", "https://spa.contoso.example/");
    // From a server, with its secret: still an SPA's code.
    let mut with_secret = params.clone();
    with_secret.push(("client_secret", WEB_SECRET));
    let response = server.token_v2_from(None, &with_secret).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002327, NO_ORIGIN),
    )
    .await;
    let origin = "https://spa.contoso.example";
    let response = server.token_v2_from(Some(origin), &params).await;
    assert_eq!(response.status(), 200);
    assert_eq!(cors_headers(response.headers()), token_cors(origin));
    let tokens: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["azpacr"],
        "0",
        "redeemed as a public client"
    );
    // Without a secret, a server still gets nothing of the web app.
    let response = server
        .token_v2_from(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("scope", "https://files.contoso.example/.default"),
            ],
        )
        .await;
    assert_eq!(response.status(), 401);
}
