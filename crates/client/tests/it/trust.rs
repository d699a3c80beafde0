//! Discovery from an API's challenge, and the two trust checks: the
//! `authorization_uri` and the `resource_id`.

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use latchkey_client::Error;

use crate::harness::{client, serve_on_loopback, world};

#[tokio::test]
async fn discovery_from_the_challenge_gets_a_token_for_exactly_that_resource() {
    let world = world().await;
    let host = world.base.trim_start_matches("http://").to_owned();
    let c = client(&world, |c| {
        c.authority = None;
        c.trusted_hosts = vec![host.parse().unwrap()];
    });
    let response = c
        .call(&format!("{}api/read", world.api), None)
        .await
        .unwrap();
    assert_eq!(
        response.body,
        format!("read \"{}\"", world.api),
        "the token's audience is the discovered resource"
    );
    assert_eq!(c.token_requests(), 1);
}

/// An API whose challenge says whatever we like.
async fn lying_api(challenge: String) -> String {
    let router = Router::new().route(
        "/api/read",
        get(move || {
            let challenge = challenge.clone();
            async move {
                (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", challenge)],
                    "",
                )
                    .into_response()
            }
        }),
    );
    let url = format!("{}/api/read", serve_on_loopback(router).await);
    url
}

#[tokio::test]
async fn a_foreign_resource_id_or_an_untrusted_authority_gets_no_token() {
    let world = world().await;
    let host = world.base.trim_start_matches("http://").to_owned();
    let authorize = format!("{}/oauth2/authorize", world.authority);
    // Names the real local API as its resource: a token for it would be
    // an elevation of privilege.
    let thief = lying_api(format!(r#"Bearer authorization_uri="{authorize}", error="invalid_token", error_description="The access token is missing.", resource_id="{}""#, world.api)).await;
    let c = client(&world, |c| {
        c.authority = None;
        c.trusted_hosts = vec![host.parse().unwrap()];
    });
    let error = c.call(&thief, None).await.unwrap_err();
    assert!(matches!(error, Error::ForeignResource { .. }), "{error:?}");
    assert_eq!(error.action().exit_code(), 5);
    assert_eq!(c.token_requests(), 0, "no token at all");

    // An authority that is not trusted.
    let phish = lying_api(r#"Bearer authorization_uri="https://login.evil.example/t/oauth2/authorize", error="invalid_token", error_description="x", resource_id="https://login.evil.example/""#.into()).await;
    let error = c.call(&phish, None).await.unwrap_err();
    assert!(
        matches!(error, Error::UntrustedAuthority { .. }),
        "{error:?}"
    );
    assert_eq!(c.token_requests(), 0);
    // Without --trusted-host, not even the real server's http origin is trusted.
    let untrusting = client(&world, |c| c.authority = None);
    let error = untrusting
        .call(&format!("{}api/read", world.api), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::UntrustedAuthority { .. }),
        "{error:?}"
    );
    assert_eq!(untrusting.token_requests(), 0);
}
