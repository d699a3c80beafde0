//! Refresh tokens: rotation, reuse detection, expiry, client binding.

use crate::harness::*;

async fn sign_in(server: &TestServer) -> String {
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
                ("scope", "openid offline_access"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn refresh(
    server: &TestServer,
    client: &str,
    token: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut params = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client),
        ("refresh_token", token),
    ];
    params.extend_from_slice(extra);
    server.token(TENANT, &params).await
}

const REUSED: &str = "The refresh token has already been used to obtain a new one; every refresh token of this sign-in has been revoked. Send a new interactive authorization request for this user and resource.";
const REVOKED: &str = "The provided grant has been revoked. Send a new interactive authorization request for this user and resource.";

/// A server whose Contoso tenant rotates strictly (no reuse interval).
async fn strict_server() -> TestServer {
    TestServer::start_with_directory(&contoso_with("refresh_token_reuse_seconds = 0"), |_| {}).await
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let server = strict_server().await;
    let first = sign_in(&server).await;

    let response = refresh(&server, CLI, &first, &[]).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(body["resource"], FILES);
    assert_eq!(body["scope"], "Files.Read");
    verify_with_jwks(&server, body["access_token"].as_str().unwrap()).await;

    // The rotated-out token comes back: someone else has it.
    let response = refresh(&server, CLI, &first, &[]).await;
    assert_token_error(response, Expected::new(400, "invalid_grant", 70000, REUSED)).await;
    // …so the legitimate successor is dead too.
    let response = refresh(&server, CLI, &second, &[]).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 50173, REVOKED),
    )
    .await;
    // A new sign-in starts a new, healthy family.
    let fresh = sign_in(&server).await;
    assert_eq!(refresh(&server, CLI, &fresh, &[]).await.status(), 200);
}

#[tokio::test]
async fn with_reuse_seconds_0_concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let server = strict_server().await;
    for _ in 0..10 {
        let token = sign_in(&server).await;
        let (a, b) = tokio::join!(
            refresh(&server, CLI, &token, &[]),
            refresh(&server, CLI, &token, &[])
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 400]);
        let loser = if a.status() == 400 { a } else { b };
        let doc: serde_json::Value = loser.json().await.unwrap();
        assert_eq!(doc["error"], "invalid_grant");
    }
}

/// The refresh token of a 200 answer.
async fn successor(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_both_stay_signed_in_until_a_late_reuse() {
    // An interval of 60 s, so that the two requests certainly fall within
    // it however slow the machine; the test clock then steps past it.
    let clock = latchkey_server::Clock::adjustable();
    let server =
        TestServer::start_with_directory(&contoso_with("refresh_token_reuse_seconds = 60"), |c| {
            c.clock = clock.clone()
        })
        .await;
    for round in 1..=3 {
        let ahead = std::time::Duration::from_secs(61 * round);
        let token = sign_in(&server).await;
        let (a, b) = tokio::join!(
            refresh(&server, CLI, &token, &[]),
            refresh(&server, CLI, &token, &[])
        );
        let (a, b) = (successor(a).await, successor(b).await);
        assert_ne!(a, b, "each tab its own successor");
        // Each keeps refreshing with what it got.
        let a = successor(refresh(&server, CLI, &a, &[]).await).await;
        let b = successor(refresh(&server, CLI, &b, &[]).await).await;
        // Past the interval, the first token again is a real reuse: the
        // family goes, both branches.
        clock.advance(std::time::Duration::from_secs(61));
        let response = refresh(&server, CLI, &token, &[]).await;
        assert_token_error(
            response,
            Expected {
                clock_ahead: ahead,
                ..Expected::new(400, "invalid_grant", 70000, REUSED)
            },
        )
        .await;
        for revoked in [a, b] {
            let response = refresh(&server, CLI, &revoked, &[]).await;
            assert_token_error(
                response,
                Expected {
                    clock_ahead: ahead,
                    ..Expected::new(400, "invalid_grant", 50173, REVOKED)
                },
            )
            .await;
        }
    }
}

#[tokio::test]
async fn a_reuse_within_the_interval_is_answered_even_after_the_winner_refreshed() {
    let clock = latchkey_server::Clock::adjustable();
    let server =
        TestServer::start_with_directory(&contoso_with("refresh_token_reuse_seconds = 60"), |c| {
            c.clock = clock.clone()
        })
        .await;
    let token = sign_in(&server).await;
    let first = successor(refresh(&server, CLI, &token, &[]).await).await;
    let _ = successor(refresh(&server, CLI, &first, &[]).await).await;
    clock.advance(std::time::Duration::from_secs(59));
    // A tab that lost the race, 59 s late: still an answer.
    let late = successor(refresh(&server, CLI, &token, &[]).await).await;
    assert_eq!(refresh(&server, CLI, &late, &[]).await.status(), 200);
}

#[tokio::test]
async fn an_expired_refresh_token_is_invalid_grant() {
    let clock = latchkey_server::Clock::adjustable();
    let server = TestServer::start_with(|c| {
        c.refresh_token_lifetime = std::time::Duration::from_secs(1);
        c.clock = clock.clone();
    })
    .await;
    let token = sign_in(&server).await;
    clock.advance(std::time::Duration::from_secs(2));
    let response = refresh(&server, CLI, &token, &[]).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."),
    )
    .await;
}

#[tokio::test]
async fn a_refresh_token_belongs_to_its_client() {
    let server = TestServer::start().await;
    let token = sign_in(&server).await;
    let response = refresh(&server, WEB, &token, &[("client_secret", WEB_SECRET)]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid: it was issued to a different client.",
        ),
    )
    .await;
    // The attempt did not burn it for its owner.
    assert_eq!(refresh(&server, CLI, &token, &[]).await.status(), 200);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_invalid_grant() {
    let server = TestServer::start().await;
    let response = refresh(
        &server,
        CLI,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &[],
    )
    .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed.",
        ),
    )
    .await;
    let response = server
        .token(
            TENANT,
            &[("grant_type", "refresh_token"), ("client_id", CLI)],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'refresh_token'.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_refresh_for_another_resource_needs_consent_for_it() {
    let server = TestServer::start().await;
    let token = sign_in(&server).await;
    // Frank never consented to Contoso Reports for the CLI, and the CLI has
    // no permission on it either.
    let response = refresh(
        &server,
        CLI,
        &token,
        &[("resource", "https://reports.contoso.example/")],
    )
    .await;
    assert_token_error(
        response,
        Expected {
            suberror: Some("consent_required"),
            ..Expected::new(400, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11' named 'Contoso CLI'. Send an interactive authorization request for this user and resource.")
        },
    )
    .await;
    // The refused attempt left the token usable.
    assert_eq!(refresh(&server, CLI, &token, &[]).await.status(), 200);
}

const SERVICE: &str = "4b7a9c2e-1d3f-4e5a-b6c7-d8e9f0a1b2c3";
const SERVICE_SECRET: &str = "service-secret-0123456789-abcdefghijk";

/// Frank's refresh token for the Service app, granted `scope` on Files
/// (he consented to Files.Read and user_impersonation).
async fn service_sign_in(server: &TestServer, scope: &str) -> String {
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", SERVICE),
                ("client_secret", SERVICE_SECRET),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
                ("scope", scope),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn service_refresh(
    server: &TestServer,
    token: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut extra = vec![("client_secret", SERVICE_SECRET)];
    extra.extend(scope.map(|s| ("scope", s)));
    refresh(server, SERVICE, token, &extra).await
}

/// The refreshed token's `scope`, and its successor.
async fn refreshed(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    (
        body["scope"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_refresh_gets_at_most_what_its_sign_in_granted() {
    let server = TestServer::start().await;
    // Granted Files.Read only, though Frank consented to more.
    let token = service_sign_in(&server, "Files.Read").await;
    let (scope, token) = refreshed(service_refresh(&server, &token, None).await).await;
    assert_eq!(scope, "Files.Read");
    let response = service_refresh(&server, &token, Some("Files.Read user_impersonation")).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope user_impersonation was not granted to this refresh token; ask for it in a new authorization request."),
    )
    .await;
    // The refusal did not spend the token.
    let (scope, _) = refreshed(service_refresh(&server, &token, None).await).await;
    assert_eq!(scope, "Files.Read");
}

#[tokio::test]
async fn a_refresh_may_narrow_and_its_successor_keeps_the_grant() {
    let server = TestServer::start().await;
    let token = service_sign_in(&server, "Files.Read user_impersonation").await;
    let (scope, token) =
        refreshed(service_refresh(&server, &token, Some("Files.Read")).await).await;
    assert_eq!(scope, "Files.Read");
    // RFC 6749 §6: the new refresh token's scope is the old one's.
    let (scope, _) = refreshed(service_refresh(&server, &token, None).await).await;
    assert_eq!(scope, "Files.Read user_impersonation");
}

#[tokio::test]
async fn a_family_ends_ninety_days_after_its_sign_in_however_often_refreshed() {
    let clock = latchkey_server::Clock::adjustable();
    let server = TestServer::start_with(|c| c.clock = clock.clone()).await;
    let mut token = sign_in(&server).await;
    // Refreshed every 13 days, within the 14-day sliding lifetime…
    for _ in 0..6 {
        clock.advance(std::time::Duration::from_secs(13 * 86_400));
        let response = refresh(&server, CLI, &token, &[]).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    // …day 78's token lives to day 90, not day 92.
    clock.advance(std::time::Duration::from_secs(12 * 86_400 + 1));
    let response = refresh(&server, CLI, &token, &[]).await;
    // The server's clock is 90 days ahead: every field but the timestamp.
    assert_eq!(response.status(), 400);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["error"], "invalid_grant");
    assert_eq!(doc["error_codes"], serde_json::json!([70043]));
    let description = doc["error_description"].as_str().unwrap();
    assert!(
        description.starts_with("AADSTS70043: The refresh token has expired: its sign-in is older than the maximum lifetime of 90 days. Send a new interactive authorization request for this user and resource.\r\nTrace ID: "),
        "{description}"
    );
}

const ADMIN_KEY: &str = "admin-key-0123456789-abcdef";

async fn revoke_sign_in_sessions(server: &TestServer, upn: &str, key: &str) -> reqwest::Response {
    server
        .http
        .post(format!(
            "{}/_admin/users/{upn}/revokeSignInSessions",
            server.base
        ))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn revoking_a_users_sign_in_sessions_ends_their_refresh_tokens_and_sessions() {
    let server = TestServer::start_with(|c| c.admin_key = Some(ADMIN_KEY.into())).await;
    let token = sign_in(&server).await;
    let browser = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", "http://localhost:5000/callback"),
            ("response_type", "code"),
            ("resource", FILES),
        ],
    );
    let signed_in = server
        .sign_in(&browser, &url, "frank@contoso.example", "frank-password")
        .await;
    // Signed in: on to the consent page (Frank consented to Files.Read only).
    assert!(signed_in.page().contains("id=\"consent\""), "{signed_in:?}");
    // Another user's revocation leaves Frank alone.
    let response = revoke_sign_in_sessions(&server, "nora@contoso.example", ADMIN_KEY).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"refresh_tokens":0,"sessions":0,"value":true}"#
    );
    let token = {
        let response = refresh(&server, CLI, &token, &[]).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body["refresh_token"].as_str().unwrap().to_owned()
    };
    // Frank's: his session and every refresh token not yet expired, the
    // rotated-out one too (within the reuse interval it would still answer).
    let response = revoke_sign_in_sessions(&server, "frank@contoso.example", ADMIN_KEY).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"refresh_tokens":2,"sessions":1,"value":true}"#
    );
    assert_token_error(
        refresh(&server, CLI, &token, &[]).await,
        Expected::new(400, "invalid_grant", 50173, REVOKED),
    )
    .await;
    // The browser signs in again.
    let again = server.open(&browser, &url).await;
    assert!(again.page().contains("id=\"signin\""), "{again:?}");
    // Refused: an unknown user, and no admin key.
    let response = revoke_sign_in_sessions(&server, "nobody@contoso.example", ADMIN_KEY).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"unknown_user","message":"no user 'nobody@contoso.example' in any tenant"}"#
    );
    let response =
        revoke_sign_in_sessions(&server, "frank@contoso.example", "wrong-key-0123456789").await;
    assert_eq!(response.status(), 401);
}
