//! The step-up loop, carried out by the client by itself: a password-only
//! token; the API's claims challenge (`insufficient_claims`), or the token
//! endpoint's `interaction_required` with `claims`; a sign-in in the
//! browser with those claims, through the second-factor page; and the
//! call again, which the API now accepts.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use latchkey_client::{Action, Client, ClientConfig, Credentials, Error};
use latchkey_resource::{Requirement, ResourceConfig, TokenClaims, Validator};

use crate::harness::{FILES, World, serve_on_loopback, world};
use crate::sign_in::{hidden_fields, sign_in_as};

/// Confidential, on any loopback port; Quinn consented to both APIs.
const PORTAL: &str = "c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607";
const PORTAL_SECRET: &str = "payroll-secret-0123456789-abcdefghijk";
/// Its tenant requires a second factor for it (`require_mfa`).
const PAYROLL: &str = "https://payroll.contoso.example/";
const AMR_MFA: &str = r#"{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}"#;

/// Quinn's code now: RFC 6238 (SHA-1, 6 digits, 30 s) over Quinn's
/// secret, RFC 6238's own test key.
fn quinn_code() -> String {
    use aws_lc_rs::hmac;
    let step = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"12345678901234567890");
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", binary % 1_000_000)
}

/// An API for `resource` whose `/api/read` needs `Files.Read` or
/// `Payroll.Read`, and a second factor.
async fn mfa_api(world: &World, resource: &str) -> String {
    let validator =
        Arc::new(Validator::new(ResourceConfig::new(&world.authority, resource)).unwrap());
    validator.refresh_now().await.unwrap();
    let read = Requirement::AllOf(vec![
        Requirement::AnyOf(vec![
            Requirement::scope("Files.Read"),
            Requirement::scope("Payroll.Read"),
        ]),
        Requirement::mfa(),
    ]);
    let router = Router::new().route(
        "/api/read",
        get(|c: TokenClaims| async move { c.auth_methods().collect::<Vec<_>>().join(" ") })
            .layer(validator.require(read)),
    );
    format!("{}/api/read", serve_on_loopback(router).await)
}

/// The portal, signing Quinn in with a password when it has no token.
fn portal(world: &World) -> Client {
    Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        credentials: Credentials {
            client_secret: Some(PORTAL_SECRET.into()),
            client_certificate: None,
            user: Some(("quinn@contoso.example".into(), "quinn-password".into())),
        },
        ..ClientConfig::new(PORTAL)
    })
    .unwrap()
}

/// Quinn's browser, scripted: opens the sign-in URL, signs in with the
/// password, passes the second factor the claims asked for, and follows
/// the redirect to the loopback listener.
async fn quinn_steps_up(url: String) {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = url.split("/7fe81447").next().unwrap().to_owned();
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    let back = sign_in_as(&b, &base, &page, "quinn@contoso.example", "quinn-password").await;
    let page = b.get(format!("{base}{back}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("id=\"mfa\""),
        "the second-factor page: {page}"
    );
    let mut fields = hidden_fields(&page);
    fields.push(("otp".into(), quinn_code()));
    let passed = b
        .post(format!(
            "{base}/7fe81447-da57-4385-becb-6de57f21477e/oauth2/authorize"
        ))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), 303);
    let back = passed.headers()["location"].to_str().unwrap().to_owned();
    let to_app = b.get(format!("{base}{back}")).send().await.unwrap();
    assert_eq!(to_app.status(), 302);
    let loopback = to_app.headers()["location"].to_str().unwrap().to_owned();
    assert!(loopback.starts_with("http://127.0.0.1:"), "{loopback}");
    let landed = b.get(&loopback).send().await.unwrap().text().await.unwrap();
    assert!(landed.contains("Signed in"));
}

/// The `claims` parameter of an authorization URL.
fn claims_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "claims")
        .map(|(_, value)| value.into_owned())
}

#[tokio::test]
async fn the_client_carries_out_an_api_s_claims_challenge_by_itself() {
    let world = world().await;
    let url = mfa_api(&world, FILES).await;
    let c = portal(&world);
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let browser = tokio::spawn(async move { quinn_steps_up(rx.await.unwrap()).await });
    let response = c
        .call_interactive(&url, Some(FILES), move |sign_in| {
            // The challenge's claims, passed on unchanged.
            assert_eq!(claims_of(sign_in).as_deref(), Some(AMR_MFA), "{sign_in}");
            tx.send(sign_in.to_owned()).unwrap();
        })
        .await
        .unwrap();
    browser.await.unwrap();
    assert_eq!((response.status, response.body.as_str()), (200, "pwd mfa"));
    // A password grant, then the code of the sign-in with the second factor.
    assert_eq!(c.token_requests(), 2);
    // The token with the second factor is cached: the next call needs nobody.
    let again = c.call(&url, Some(FILES)).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(c.token_requests(), 2);
}

#[tokio::test]
async fn the_client_carries_out_the_token_endpoint_s_claims_by_itself() {
    let world = world().await;
    let url = mfa_api(&world, PAYROLL).await;
    let c = portal(&world);
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let browser = tokio::spawn(async move { quinn_steps_up(rx.await.unwrap()).await });
    let response = c
        .call_interactive(&url, Some(PAYROLL), move |sign_in| {
            // The policy's claims, as the token endpoint named them.
            let claims = claims_of(sign_in).unwrap();
            assert!(
                claims.starts_with(r#"{"access_token":{"capolids":"#),
                "{claims}"
            );
            tx.send(sign_in.to_owned()).unwrap();
        })
        .await
        .unwrap();
    browser.await.unwrap();
    assert_eq!((response.status, response.body.as_str()), (200, "pwd mfa"));
}

#[tokio::test]
async fn without_a_person_a_claims_challenge_is_reported_with_its_claims() {
    let world = world().await;
    let c = portal(&world);
    let url = mfa_api(&world, FILES).await;
    let error = c.call(&url, Some(FILES)).await.unwrap_err();
    let Error::Resource(refused) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(refused.status, 401);
    assert_eq!(
        c.token_requests(),
        1,
        "no second token for invalid_token's sake: one of the same sign-in lacks the same claims"
    );
    let action = error.action();
    assert_eq!(
        action,
        Action::ReauthorizeWithClaims {
            claims: AMR_MFA.into()
        }
    );
    assert_eq!(action.exit_code(), 4);
    // The token endpoint's `interaction_required` with claims, likewise.
    let error = c.access_token(&world.authority, PAYROLL).await.unwrap_err();
    let Action::ReauthorizeWithClaims { claims } = error.action() else {
        panic!("{error:?}")
    };
    assert!(claims.contains("capolids"), "{claims}");
}
