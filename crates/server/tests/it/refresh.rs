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

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let server = TestServer::start().await;
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
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let server = TestServer::start().await;
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
