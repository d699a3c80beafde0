//! The token endpoint's errors, retries and the token cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use latchkey_client::{Action, Client, ClientConfig, Credentials, Error, RetryPolicy};

use crate::harness::{DAEMON, FILES, SERVICE, TENANT, client, serve_on_loopback, world};

#[tokio::test]
async fn token_endpoint_errors_lead_to_their_actions() {
    let world = world().await;
    let wrong_secret = client(&world, |c| {
        c.credentials.client_secret = Some("wrong".into())
    });
    let error = wrong_secret
        .client_credentials(&world.authority, FILES)
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::FixCredentials);
    assert_eq!(
        wrong_secret.token_requests(),
        1,
        "invalid_client is never retried"
    );
    assert!(error.correlation_id().is_some());

    let stranger = Client::new(ClientConfig {
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        ..ClientConfig::new("x")
    })
    .unwrap();
    let error = stranger
        .client_credentials(&world.authority, FILES)
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::InstallApplication);

    let c = client(&world, |_| {});
    let error = c
        .client_credentials(&world.authority, "https://nowhere.example/")
        .await
        .unwrap_err();
    assert_eq!(
        error.action(),
        Action::InstallApplication,
        "invalid_resource"
    );
    let error = c
        .password(
            &world.authority,
            FILES,
            "frank@contoso.example",
            "wrong",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::FixRequest, "invalid_grant");
    let error = c
        .password(
            &world.authority,
            FILES,
            "mia@contoso.example",
            "mia-password",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::InteractionRequired);
    let error = c
        .request_token(&world.authority, &[("grant_type", "magic")])
        .await
        .unwrap_err();
    assert_eq!(error.action(), Action::ChangeGrantType);
    let ok = c.client_credentials(&world.authority, FILES).await.unwrap();
    assert_eq!(ok.resource, FILES);
}

/// A token endpoint that is overloaded twice, then answers.
async fn flaky_token_endpoint(
    failures: u32,
    retry_after: &'static str,
) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let router = Router::new().route(
        "/{tenant}/oauth2/token",
        post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    let body = r#"{"error":"temporarily_unavailable","error_description":"AADSTS90055: busy","error_codes":[90055],"timestamp":"2026-11-25 00:00:00Z","trace_id":"t","correlation_id":"c"}"#;
                    (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", retry_after), ("content-type", "application/json")], body).into_response()
                } else {
                    let body = r#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"3600","expires_on":"9999999999","not_before":"0","resource":"r","access_token":"t"}"#;
                    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
                }
            }
        }),
    );
    let base = format!("{}/{TENANT}", serve_on_loopback(router).await);
    (base, calls)
}

#[tokio::test]
async fn temporarily_unavailable_is_retried_after_retry_after() {
    let (authority, calls) = flaky_token_endpoint(2, "1").await;
    let c = Client::new(ClientConfig {
        credentials: Credentials {
            client_secret: Some("s".into()),
            client_certificate: None,
            user: None,
        },
        ..ClientConfig::new(SERVICE)
    })
    .unwrap();
    let started = Instant::now();
    let token = c.client_credentials(&authority, "r").await.unwrap();
    assert_eq!(token.access_token, "t");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited Retry-After twice: {:?}",
        started.elapsed()
    );

    // Still failing after every try: reported as such, action retry later.
    let (authority, calls) = flaky_token_endpoint(100, "0").await;
    let c = Client::new(ClientConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..ClientConfig::new(SERVICE)
    })
    .unwrap();
    let error = c.client_credentials(&authority, "r").await.unwrap_err();
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 3, .. }),
        "{error:?}"
    );
    assert_eq!(error.action(), Action::RetryLater);
    assert_eq!(error.action().exit_code(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_cached_token_is_refreshed_before_it_expires() {
    let world = world().await;
    let c = client(&world, |c| {
        c.credentials.user = Some(("frank@contoso.example".into(), "frank-password".into()));
        // Every token is "about to expire": the next use refreshes it.
        c.refresh_before_expiry = Duration::from_secs(7200);
    });
    let first = c.access_token(&world.authority, FILES).await.unwrap();
    let second = c.access_token(&world.authority, FILES).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(
        c.token_requests(),
        2,
        "one password grant, then one refresh"
    );
    let kept = client(&world, |c| {
        c.credentials.user = Some(("frank@contoso.example".into(), "frank-password".into()))
    });
    let a = kept.access_token(&world.authority, FILES).await.unwrap();
    let b = kept.access_token(&world.authority, FILES).await.unwrap();
    assert_eq!(a, b, "a fresh token comes from the cache");
    assert_eq!(kept.token_requests(), 1);
}

/// Contoso HR requires assignment and admits Frank alone.
const HR: &str = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b";
const HR_SECRET: &str = "hr-secret-0123456789-abcdefghijklmnopq";

#[tokio::test]
async fn a_user_the_app_does_not_admit_is_prompted_for_a_different_account() {
    let world = world().await;
    let hr = client(&world, |c| {
        c.client_id = HR.into();
        c.credentials.client_secret = Some(HR_SECRET.into());
    });
    let error = hr
        .password(
            &world.authority,
            FILES,
            "ivan@contoso.example",
            "ivan-password",
            None,
        )
        .await
        .unwrap_err();
    let Error::Token(token) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(token.status, 403);
    assert_eq!(token.document.error.as_str(), "invalid_grant");
    assert_eq!(token.document.error_codes, [50105]);
    // AADSTS50105, not invalid_grant's "fix the request".
    assert_eq!(error.action(), Action::DifferentAccount);
    assert_eq!(error.action().exit_code(), 4);
    assert_eq!(hr.token_requests(), 1, "never retried");
    let frank = hr
        .password(
            &world.authority,
            FILES,
            "frank@contoso.example",
            "frank-password",
            None,
        )
        .await;
    assert!(frank.is_ok(), "{frank:?}");
}

#[tokio::test]
async fn a_client_certificate_signs_a_fresh_assertion_for_each_request_of_a_single_use_app() {
    let world = world().await;
    let pem = include_str!("../../../../tests/fixtures/contoso-daemon.pem");
    let certificate = latchkey_client::ClientCertificate::from_pem(pem).unwrap();
    let daemon = DAEMON;
    let c = Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        credentials: Credentials {
            client_secret: None,
            client_certificate: Some(Arc::new(certificate)),
            user: None,
        },
        ..ClientConfig::new(daemon)
    })
    .unwrap();
    let files = c.client_credentials(&world.authority, FILES).await.unwrap();
    let reports = c
        .client_credentials(&world.authority, "https://reports.contoso.example/")
        .await
        .unwrap();
    // The daemon takes each assertion once (the harness): the second
    // request carried a new one.
    assert_ne!(files.access_token, reports.access_token);
    // A PEM without the key is refused before any request.
    let refused = latchkey_client::ClientCertificate::from_pem(
        &pem[pem.find("-----BEGIN CERTIFICATE-----").unwrap()..],
    )
    .unwrap_err();
    assert_eq!(refused, "no PRIVATE KEY block");
}
