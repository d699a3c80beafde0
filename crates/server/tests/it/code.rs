//! Redeeming authorization codes: every invalid_grant, and single use.

use crate::harness::*;

const WEB_CALLBACK: &str = "http://localhost:5000/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A code for Frank (who consented to Files.Read) and WEB, with or without PKCE.
async fn code_for_frank(server: &TestServer, pkce: bool) -> String {
    let b = server.browser();
    let mut params = vec![
        ("client_id", WEB),
        ("redirect_uri", WEB_CALLBACK),
        ("response_type", "code"),
        ("resource", FILES),
        ("scope", "Files.Read"),
        ("state", "s"),
    ];
    if pkce {
        params.extend([
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
    }
    let outcome = server
        .sign_in(
            &b,
            &server.authorize_url(TENANT, &params),
            "frank@contoso.example",
            "frank-password",
        )
        .await;
    outcome.delivered()["code"].clone()
}

async fn redeem(server: &TestServer, code: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
        ("code", code),
        ("redirect_uri", WEB_CALLBACK),
    ];
    for (k, v) in extra {
        if let Some(slot) = params.iter_mut().find(|(name, _)| name == k) {
            slot.1 = v;
        } else {
            params.push((k, v));
        }
    }
    server.token(TENANT, &params).await
}

/// WEB refreshes `refresh`.
async fn refresh_as_web(server: &TestServer, refresh: &str) -> reqwest::Response {
    server
        .token(
            TENANT,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("refresh_token", refresh),
            ],
        )
        .await
}

#[tokio::test]
async fn a_code_redeems_once_and_its_replay_revokes_the_refresh_tokens() {
    let server = TestServer::start().await;
    let code = code_for_frank(&server, true).await;
    let first = redeem(&server, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(first.status(), 200);
    let body: serde_json::Value = first.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(
        body.get("id_token").is_none(),
        "no openid scope, no ID token"
    );

    let again = redeem(&server, &code, &[("code_verifier", VERIFIER)]).await;
    assert_token_error(
        again,
        Expected::new(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."),
    )
    .await;
    let response = refresh_as_web(&server, &refresh).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_grant", 50173, "The provided grant has been revoked. Send a new interactive authorization request for this user and resource."),
    )
    .await;
}

#[tokio::test]
async fn concurrent_redemptions_have_exactly_one_winner() {
    let server = TestServer::start().await;
    for _ in 0..5 {
        let code = code_for_frank(&server, false).await;
        let (a, b) = tokio::join!(redeem(&server, &code, &[]), redeem(&server, &code, &[]));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 400]);
    }
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let clock = latchkey_server::Clock::adjustable();
    let server = TestServer::start_with(|c| {
        c.code_lifetime = std::time::Duration::from_secs(1);
        c.clock = clock.clone();
    })
    .await;
    let code = code_for_frank(&server, false).await;
    clock.advance(std::time::Duration::from_secs(2));
    assert_token_error(
        redeem(&server, &code, &[]).await,
        Expected::new(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."),
    )
    .await;
}

#[tokio::test]
async fn what_the_token_request_must_repeat() {
    let server = TestServer::start().await;
    let code = code_for_frank(&server, true).await;
    // Another client presents the code.
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", ROBOT),
                ("client_secret", ROBOT_SECRET),
                ("code", &code),
                ("redirect_uri", WEB_CALLBACK),
            ],
        )
        .await;
    // Robot may not use the code flow at all: that is said first.
    assert_eq!(response.status(), 400);
    assert_token_error(
        redeem(
            &server,
            &code,
            &[
                ("redirect_uri", "https://web.contoso.example/signin-oidc"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await,
        Expected::new(
            400,
            "invalid_grant",
            70000,
            "The redirect_uri does not match the one the authorization code was issued for.",
        ),
    )
    .await;
    assert_token_error(
        redeem(&server, &code, &[]).await,
        Expected::new(400, "invalid_grant", 501481, "The request body must contain the 'code_verifier' parameter: the authorization request supplied a code_challenge."),
    )
    .await;
    assert_token_error(
        redeem(&server, &code, &[("code_verifier", "wrong-verifier-wrong-verifier-wrong-verifier-00")]).await,
        Expected::new(400, "invalid_grant", 501481, "The code_verifier does not match the code_challenge supplied in the authorization request."),
    )
    .await;
    // None of those burned the code.
    assert_eq!(
        redeem(&server, &code, &[("code_verifier", VERIFIER)])
            .await
            .status(),
        200
    );

    let plain = code_for_frank(&server, false).await;
    assert_token_error(
        redeem(&server, &plain, &[("code_verifier", VERIFIER)]).await,
        Expected::new(
            400,
            "invalid_grant",
            501481,
            "A code_verifier was sent, but the authorization request supplied no code_challenge.",
        ),
    )
    .await;
    assert_eq!(redeem(&server, &plain, &[]).await.status(), 200);
}

#[tokio::test]
async fn a_code_issued_to_one_client_is_not_anothers() {
    let server = TestServer::start().await;
    // The CLI gets a code (public, with PKCE); WEB presents it.
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", CLI),
            ("redirect_uri", "http://localhost:7000/cb"),
            ("response_type", "code"),
            ("resource", FILES),
            ("scope", "Files.Read"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    let outcome = server
        .sign_in(&b, &url, "frank@contoso.example", "frank-password")
        .await;
    let code = outcome.delivered()["code"].clone();
    assert_token_error(
        redeem(
            &server,
            &code,
            &[
                ("redirect_uri", "http://localhost:7000/cb"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await,
        Expected::new(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid: it was issued to a different client.",
        ),
    )
    .await;
}

#[tokio::test]
async fn another_clients_replay_of_a_used_code_revokes_nothing() {
    let server = TestServer::start().await;
    let code = code_for_frank(&server, true).await;
    let first = redeem(&server, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(first.status(), 200);
    let body: serde_json::Value = first.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    // A public client, which authenticates with nothing, presents WEB's used code.
    let foreign = server
        .token(
            TENANT,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLI),
                ("code", &code),
                ("redirect_uri", WEB_CALLBACK),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_token_error(
        foreign,
        Expected::new(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid: it was issued to a different client.",
        ),
    )
    .await;
    let response = refresh_as_web(&server, &refresh).await;
    assert_eq!(response.status(), 200, "WEB's tokens were not revoked");
}
