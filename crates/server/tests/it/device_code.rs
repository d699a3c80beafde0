//! The device authorization grant (RFC 8628) as Azure AD serves it: the
//! device authorization endpoint (v1 and v2.0 shapes), the device login
//! page, and the token endpoint's polling answers, byte for byte.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    Expected, FILES, Outcome, TENANT, TestServer, assert_token_error, claims, form,
};

pub const DEVICE: &str = "a1d2e3f4-5b6c-4d7e-8f90-1a2b3c4d5e6f";
const ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// POST `params` to the device authorization endpoint (`v2.0/` or not).
async fn ask(server: &TestServer, version: &str, params: &[(&str, &str)]) -> reqwest::Response {
    server
        .http
        .post(format!(
            "{}/{TENANT}/oauth2/{version}devicecode",
            server.base
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(params))
        .send()
        .await
        .unwrap()
}

/// A v1 device authorization for Files, as ADAL asks for it.
async fn authorize_device(server: &TestServer) -> Value {
    let response = ask(server, "", &[("client_id", DEVICE), ("resource", FILES)]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A v2.0 device authorization for Files.Read, with an ID token and a
/// refresh token.
async fn ask_v2(server: &TestServer) -> reqwest::Response {
    ask(
        server,
        "v2.0/",
        &[("client_id", DEVICE), ("scope", V2_SCOPE)],
    )
    .await
}

const V2_SCOPE: &str = "https://files.contoso.example/Files.Read openid offline_access";

async fn poll(server: &TestServer, params: &[(&str, &str)]) -> reqwest::Response {
    let mut all = vec![("client_id", DEVICE)];
    all.extend_from_slice(params);
    server.token(TENANT, &all).await
}

/// The RFC 8628 poll for `device_code`.
async fn poll_rfc(server: &TestServer, device_code: &str) -> reqwest::Response {
    poll(
        server,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
        ],
    )
    .await
}

/// Types `user_code` at the device login page and signs `user` in: the
/// page after the sign-in's 303 (second factor or consent).
pub async fn enter_code_and_sign_in(
    server: &TestServer,
    browser: &reqwest::Client,
    user_code: &str,
    user: &str,
    password: &str,
) -> Outcome {
    let page = server.open(browser, "/devicelogin").await;
    assert!(page.page().contains("id=\"device-code\""), "{page:?}");
    let signin = server
        .submit(browser, page.page(), &[("user_code", user_code)])
        .await;
    assert!(signin.page().contains("id=\"signin\""), "{signin:?}");
    let posted = server
        .submit(
            browser,
            signin.page(),
            &[("username", user), ("password", password)],
        )
        .await;
    let Outcome::SeeOther { location, .. } = posted else {
        panic!("sign-in did not answer 303: {posted:?}")
    };
    assert!(location.starts_with("/devicelogin?"), "{location}");
    server.open(browser, &location).await
}

/// A device authorization Frank approved in `browser`: he is signed in
/// there and has consented to the app afterwards.
async fn approved_by_frank(server: &TestServer, browser: &reqwest::Client) -> Value {
    let device = authorize_device(server).await;
    let consent = enter_code_and_sign_in(
        server,
        browser,
        device["user_code"].as_str().unwrap(),
        "frank@contoso.example",
        "frank-password",
    )
    .await;
    let done = server
        .submit(browser, consent.page(), &[("consent", "accept")])
        .await;
    assert!(done.page().contains("id=\"device-approved\""), "{done:?}");
    device
}

fn pending() -> Expected<'static> {
    Expected::new(
        400,
        "authorization_pending",
        70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    )
}

#[tokio::test]
async fn the_v1_device_authorization_reads_as_adal_expects() {
    let server = TestServer::start().await;
    let response = ask(&server, "", &[("client_id", DEVICE), ("resource", FILES)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    let user_code = doc["user_code"].as_str().unwrap();
    let device_code = doc["device_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 8);
    assert!(
        user_code.chars().all(|c| ALPHABET.contains(c)),
        "{user_code}"
    );
    // 256 bits, base64url without padding.
    assert_eq!(device_code.len(), 43);
    let page = format!("{}/devicelogin", server.base);
    assert_eq!(
        body,
        format!(
            r#"{{"user_code":"{user_code}","device_code":"{device_code}","verification_url":"{page}","expires_in":"900","interval":"5","message":"To sign in, use a web browser to open the page {page} and enter the code {user_code} to authenticate."}}"#
        )
    );
}

#[tokio::test]
async fn the_v2_device_authorization_and_discovery() {
    let server = TestServer::start().await;
    let response = ask_v2(&server).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    let (user_code, device_code) = (
        doc["user_code"].as_str().unwrap(),
        doc["device_code"].as_str().unwrap(),
    );
    let page = format!("{}/devicelogin", server.base);
    assert_eq!(
        body,
        format!(
            r#"{{"user_code":"{user_code}","device_code":"{device_code}","verification_uri":"{page}","expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page {page} and enter the code {user_code} to authenticate."}}"#
        )
    );
    for (path, endpoint) in [
        (
            format!("/{TENANT}/.well-known/openid-configuration"),
            format!("{}/{TENANT}/oauth2/devicecode", server.base),
        ),
        (
            format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
            format!("{}/{TENANT}/oauth2/v2.0/devicecode", server.base),
        ),
    ] {
        let (_, discovery) = server.get_json(&path).await;
        assert_eq!(discovery["device_authorization_endpoint"], endpoint);
        assert!(
            discovery["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from("urn:ietf:params:oauth:grant-type:device_code"))
        );
    }
}

#[tokio::test]
async fn device_authorization_refusals() {
    let server = TestServer::start().await;
    let ask = |params: Vec<(&'static str, &'static str)>| {
        let server = &server;
        async move { ask(server, "", &params).await }
    };
    assert_token_error(
        ask(vec![("client_id", DEVICE)]).await,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'resource'.",
        ),
    )
    .await;
    // Contoso CLI may not use the device code grant.
    assert_token_error(
        ask(vec![("client_id", crate::harness::CLI), ("resource", FILES)]).await,
        Expected::new(400, "unauthorized_client", 70000, "The application '0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11' is not allowed to use the grant type 'device_code'."),
    )
    .await;
    let unknown = ask(vec![
        ("client_id", DEVICE),
        ("resource", "https://nowhere.example/"),
    ])
    .await;
    let doc: Value = unknown.json().await.unwrap();
    assert_eq!(doc["error"], "invalid_resource");
    let wrong_scope = ask(vec![
        ("client_id", DEVICE),
        ("resource", FILES),
        ("scope", "Files.Write"),
    ])
    .await;
    let doc: Value = wrong_scope.json().await.unwrap();
    assert_eq!(doc["error"], "invalid_scope");
    let get = server
        .http
        .get(format!("{}/{TENANT}/oauth2/devicecode", server.base))
        .send()
        .await
        .unwrap();
    assert_token_error(
        get,
        Expected::new(
            400,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests. Received a GET request.",
        ),
    )
    .await;
}

#[tokio::test]
async fn polling_until_the_person_approves_then_once_only() {
    let clock = latchkey_server::Clock::adjustable();
    let server = TestServer::start_with(|c| c.clock = clock.clone()).await;
    let device = authorize_device(&server).await;
    let device_code = device["device_code"].as_str().unwrap();
    let user_code = device["user_code"].as_str().unwrap();
    // ADAL's poll: `grant_type=device_code` and the code as `code`, at
    // once after the code was issued: pending, never slow_down.
    let adal = [
        ("grant_type", "device_code"),
        ("code", device_code),
        ("resource", FILES),
    ];
    assert_token_error(poll(&server, &adal).await, pending()).await;
    // Sooner than `interval` after that: slow_down.
    assert_token_error(
        poll_rfc(&server, device_code).await,
        Expected::new(400, "slow_down", 70016, "OAuth 2.0 device flow error. Polling too frequently: wait at least 5 seconds between requests, 5 seconds more after this answer."),
    )
    .await;
    clock.advance(Duration::from_secs(5));
    let ahead = Expected {
        clock_ahead: Duration::from_secs(5),
        ..pending()
    };
    assert_token_error(poll_rfc(&server, device_code).await, ahead).await;

    // The person types the code as people do (lower case, a dash).
    let browser = server.browser();
    let typed = format!("{}-{}", &user_code[..4], &user_code[4..]).to_lowercase();
    let consent = enter_code_and_sign_in(
        &server,
        &browser,
        &typed,
        "frank@contoso.example",
        "frank-password",
    )
    .await;
    let html = consent.page();
    assert!(html.contains("id=\"consent\""), "{html}");
    assert!(html.contains("id=\"device-notice\""), "{html}");
    assert!(html.contains(user_code), "the notice names the code");
    assert!(html.contains("Contoso Device"));
    let done = server
        .submit(&browser, html, &[("consent", "accept")])
        .await;
    assert!(done.page().contains("id=\"device-approved\""), "{done:?}");

    clock.advance(Duration::from_secs(5));
    let response = poll_rfc(&server, device_code).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], "frank@contoso.example");
    assert_eq!(access["aud"], FILES);
    assert_eq!(access["appid"], DEVICE);
    assert_eq!(access["scp"], "Files.Read user_impersonation");
    assert!(tokens["refresh_token"].is_string());

    // Single use: a second redemption is refused.
    let again = Expected {
        clock_ahead: Duration::from_secs(10),
        ..Expected::new(
            400,
            "invalid_grant",
            54005,
            "The device code has already been redeemed. Start a new device code flow to sign in again.",
        )
    };
    assert_token_error(poll_rfc(&server, device_code).await, again).await;
    // And the refresh token works like any other.
    let refreshed = server
        .token(
            TENANT,
            &[
                ("client_id", DEVICE),
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                ("resource", FILES),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), 200);
}

#[tokio::test]
async fn declined_at_the_page() {
    let server = TestServer::start().await;
    let device = authorize_device(&server).await;
    let browser = server.browser();
    let consent = enter_code_and_sign_in(
        &server,
        &browser,
        device["user_code"].as_str().unwrap(),
        "nora@contoso.example",
        "nora-password",
    )
    .await;
    assert!(consent.page().contains("id=\"cancel\""));
    let done = server
        .submit(&browser, consent.page(), &[("consent", "cancel")])
        .await;
    assert!(done.page().contains("id=\"device-declined\""), "{done:?}");
    assert_token_error(
        poll_rfc(&server, device["device_code"].as_str().unwrap()).await,
        Expected::new(
            400,
            "authorization_declined",
            65004,
            "OAuth 2.0 device flow error. The user declined the authorization request.",
        ),
    )
    .await;
    // The code cannot be approved afterwards.
    let later = server
        .open(
            &browser,
            &format!(
                "/devicelogin?user_code={}",
                device["user_code"].as_str().unwrap()
            ),
        )
        .await;
    assert!(later.page().contains("id=\"device-code\""));
    assert!(later.page().contains("id=\"error\""));
}

#[tokio::test]
async fn an_expired_device_code_and_an_unknown_one() {
    let clock = latchkey_server::Clock::adjustable();
    let server = TestServer::start_with(|c| {
        c.clock = clock.clone();
        c.device_code_lifetime = Duration::from_secs(60);
    })
    .await;
    let device = authorize_device(&server).await;
    assert_eq!(device["expires_in"], "60");
    clock.advance(Duration::from_secs(61));
    let expired = Expected {
        clock_ahead: Duration::from_secs(61),
        ..Expected::new(
            400,
            "expired_token",
            70019,
            "Verification code expired. Have the user retry the sign-in.",
        )
    };
    assert_token_error(
        poll_rfc(&server, device["device_code"].as_str().unwrap()).await,
        expired,
    )
    .await;
    // Nor can the person still use its user code.
    let browser = server.browser();
    let page = server.open(&browser, "/devicelogin").await;
    let refused = server
        .submit(
            &browser,
            page.page(),
            &[("user_code", device["user_code"].as_str().unwrap())],
        )
        .await;
    assert!(
        refused.page().contains("That code didn&#x27;t work"),
        "{refused:?}"
    );
    let unknown = Expected {
        clock_ahead: Duration::from_secs(61),
        ..Expected::new(
            400,
            "bad_verification_code",
            70018,
            "Invalid verification code: the provided device_code was not issued to this application.",
        )
    };
    assert_token_error(poll_rfc(&server, "not-a-device-code").await, unknown).await;
    let missing = Expected {
        clock_ahead: Duration::from_secs(61),
        ..Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'device_code'.",
        )
    };
    assert_token_error(
        poll(
            &server,
            &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
        )
        .await,
        missing,
    )
    .await;
}

#[tokio::test]
async fn the_second_factor_on_the_device_page_shows_in_amr() {
    let server = TestServer::start().await;
    let response = ask_v2(&server).await;
    let device: Value = response.json().await.unwrap();
    let browser = server.browser();
    let mfa = enter_code_and_sign_in(
        &server,
        &browser,
        device["user_code"].as_str().unwrap(),
        "mia@contoso.example",
        "mia-password",
    )
    .await;
    assert!(mfa.page().contains("id=\"mfa\""), "{mfa:?}");
    let passed = server
        .submit(
            &browser,
            mfa.page(),
            &[("otp", &crate::harness::totp_now())],
        )
        .await;
    let Outcome::SeeOther { location, .. } = passed else {
        panic!("the second factor did not answer 303: {passed:?}")
    };
    let consent = server.open(&browser, &location).await;
    let done = server
        .submit(&browser, consent.page(), &[("consent", "accept")])
        .await;
    assert!(done.page().contains("id=\"device-approved\""));
    let response = server
        .token_with_v2_device(device["device_code"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "mfa"]));
    assert_eq!(id["preferred_username"], "mia@contoso.example");
    assert_eq!(tokens["scope"], V2_SCOPE);
}

impl TestServer {
    async fn token_with_v2_device(&self, device_code: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("client_id", DEVICE),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
                ("scope", V2_SCOPE),
            ]))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_link_with_a_code_never_approves_by_itself() {
    let server = TestServer::start().await;
    // Frank signs in and approves one device: he is signed in and has
    // consented to the app.
    let browser = server.browser();
    approved_by_frank(&server, &browser).await;
    // An attacker's device code, in a link Frank follows: the consent page
    // asks him, and a post without the page's CSRF token does nothing.
    let attacker = authorize_device(&server).await;
    let link = format!(
        "/devicelogin?user_code={}",
        attacker["user_code"].as_str().unwrap()
    );
    let asked = server.open(&browser, &link).await;
    assert!(asked.page().contains("id=\"device-notice\""), "{asked:?}");
    let forged = browser
        .post(format!("{}/devicelogin", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("user_code", attacker["user_code"].as_str().unwrap()),
            ("lk_step", "consent"),
            ("consent", "accept"),
        ]))
        .send()
        .await
        .unwrap();
    let forged = Outcome::read(forged).await;
    assert!(forged.page().contains("id=\"consent\""), "{forged:?}");
    assert_token_error(
        poll_rfc(&server, attacker["device_code"].as_str().unwrap()).await,
        pending(),
    )
    .await;
}

#[tokio::test]
async fn two_pollers_after_approval_one_gets_tokens() {
    let server = TestServer::start().await;
    for _ in 0..5 {
        let device = approved_by_frank(&server, &server.browser()).await;
        let code = device["device_code"].as_str().unwrap();
        let (a, b) = tokio::join!(poll_rfc(&server, code), poll_rfc(&server, code));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 400]);
    }
}

#[tokio::test]
async fn guessing_user_codes_is_throttled() {
    let server = TestServer::start_with(|c| c.user_code_lookups_per_ip_burst = 3).await;
    let device = authorize_device(&server).await;
    let browser = server.browser();
    for guess in ["BBBBBBBB", "CCCCCCCC", "DDDDDDDD"] {
        let page = server
            .open(&browser, &format!("/devicelogin?user_code={guess}"))
            .await;
        assert!(page.page().contains("id=\"error\""));
    }
    // Now even the right code is not looked up.
    let response = browser
        .get(format!(
            "{}/devicelogin?user_code={}",
            server.base,
            device["user_code"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let html = response.text().await.unwrap();
    assert!(html.contains("too many attempts"), "{html}");
    assert!(!html.contains("id=\"signin\""));
}
