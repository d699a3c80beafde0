//! Calling a protected API: a new token on `invalid_token`, the scope of
//! `insufficient_scope`, a stop on `insufficient_access`, retries when the
//! API is unreachable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use latchkey_client::{Action, Error};

use crate::harness::{
    FILES, client, holds_only_user_impersonation, protected_api, serve_on_loopback, world,
};

#[tokio::test]
async fn invalid_token_gets_exactly_one_new_token_and_one_retry() {
    let world = world().await;
    // An API that refuses the first token it sees, then accepts.
    let seen = Arc::new(AtomicU32::new(0));
    let counter = seen.clone();
    let api = Router::new().route(
        "/api/read",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    (StatusCode::UNAUTHORIZED, [("www-authenticate", r#"Bearer authorization_uri="x", error="invalid_token", error_description="The access token is expired.""#)], "").into_response()
                } else {
                    (StatusCode::OK, "ok").into_response()
                }
            }
        }),
    );
    let url = format!("{}/api/read", serve_on_loopback(api).await);
    let c = client(&world, |_| {});
    let response = c.call(&url, Some(FILES)).await.unwrap();
    assert_eq!(response.body, "ok");
    assert_eq!(seen.load(Ordering::SeqCst), 2, "one retry");
    assert_eq!(c.token_requests(), 2, "one new token");

    // A real API that refuses every token (its resource id is not the
    // token's audience): one new token, one retry, then the error.
    let mismatched = Router::new()
        .merge(protected_api(&world.authority, "https://other.contoso.example/").await);
    let url = format!("{}/api/read", serve_on_loopback(mismatched).await);
    let c = client(&world, |_| {});
    let error = c.call(&url, Some(FILES)).await.unwrap_err();
    assert_eq!(error.action(), Action::RequestNewToken);
    assert_eq!(error.action().exit_code(), 3);
    assert_eq!(c.token_requests(), 2, "exactly one new token, no loop");
}

#[tokio::test]
async fn insufficient_scope_surfaces_the_scope_and_insufficient_access_stops() {
    let world = world().await;
    let read = format!("{}api/read", world.api);
    let narrow = client(&world, |c| {
        c.credentials.user = Some(("frank@contoso.example".into(), "frank-password".into()))
    });
    // Frank's token for the local API has no delegated scope there.
    let error = narrow.call(&read, Some(&world.api)).await.unwrap_err();
    assert_eq!(error.action(), Action::AskForConsent, "{error:?}");
    assert_eq!(narrow.token_requests(), 1);
    // With the files API's narrow scope:
    holds_only_user_impersonation(&narrow, &world).await;
    let files_api = Router::new().merge(protected_api(&world.authority, FILES).await);
    let files_url = format!("{}/api/", serve_on_loopback(files_api).await);
    let error = narrow
        .call(&format!("{files_url}read"), Some(FILES))
        .await
        .unwrap_err();
    assert_eq!(
        error.action(),
        Action::Reauthorize {
            scope: Some("Files.Read".into())
        }
    );
    assert_eq!(error.action().exit_code(), 4);

    let app = client(&world, |_| {});
    let error = app
        .call(&format!("{}api/admin", world.api), Some(&world.api))
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::DifferentAccount);
    assert_eq!(error.action().exit_code(), 4);
}

#[tokio::test]
async fn an_unreachable_api_is_retried_then_reported() {
    let world = world().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/read", closed.local_addr().unwrap());
    drop(closed);
    let c = client(&world, |_| {});
    let error = c.call(&url, Some(FILES)).await.unwrap_err();
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(error.action().exit_code(), 3);
}
