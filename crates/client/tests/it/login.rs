//! `login`: the code flow with PKCE through a loopback listener, and an
//! interactive call that re-authorizes for the scope the API names.

use axum::Router;
use latchkey_client::{Action, Client, ClientConfig, Credentials, Error};

use crate::harness::{
    DESKTOP, DEVICE, FILES, holds_only_user_impersonation, protected_api, serve_on_loopback, world,
};
use crate::sign_in::{decide_device_as_frank, sign_in_as, sign_in_frank};

#[tokio::test]
async fn login_runs_the_code_flow_with_pkce_through_a_loopback_listener() {
    let world = world().await;
    let c = Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        ..ClientConfig::new(DESKTOP)
    })
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let browser = tokio::spawn(async move { scripted_sign_in(rx.await.unwrap()).await });
    let tokens = c
        .login(&world.authority, FILES, Some("openid"), move |url| {
            assert!(
                url.contains("code_challenge_method=S256")
                    && url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A")
            );
            tx.send(url.to_owned()).unwrap();
        })
        .await
        .unwrap();
    browser.await.unwrap();
    assert_eq!(
        tokens.scope.as_deref(),
        Some("Files.Read user_impersonation"),
        "v1: every permitted, consented scope"
    );
    assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
    // The tokens are cached for the resource.
    let cached = c.access_token(&world.authority, FILES).await.unwrap();
    assert_eq!(cached, tokens.access_token);
    assert_eq!(c.token_requests(), 1);
}

#[tokio::test]
async fn login_with_a_device_code_slows_down_then_polls_until_the_person_approves() {
    let world = world().await;
    let c = Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        ..ClientConfig::new(DEVICE)
    })
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let base = world.base.clone();
    let person = tokio::spawn(async move {
        let user_code = crate::sign_in::user_code_in(&rx.await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        decide_device_as_frank(&browser, &base, &user_code, true).await;
    });
    let started = std::time::Instant::now();
    let tokens = c
        .login_with_device_code(&world.authority, FILES, None, move |message| {
            tx.send(message.to_owned()).unwrap();
        })
        .await
        .unwrap();
    person.await.unwrap();
    // The first poll heard `slow_down` (the world's scenario): the next
    // came the interval plus 5 seconds later (RFC 8628 §3.5), not 1 second,
    // and by then the person had approved.
    assert!(started.elapsed() >= std::time::Duration::from_secs(6));
    assert_eq!(
        c.token_requests(),
        3,
        "the device code, slow_down, then the tokens"
    );
    assert_eq!(
        tokens.scope.as_deref(),
        Some("Files.Read user_impersonation")
    );
    let cached = c.access_token(&world.authority, FILES).await.unwrap();
    assert_eq!(cached, tokens.access_token);
}

/// A person's browser, scripted: opens the sign-in URL, signs Frank in
/// (consent is on file), and follows the redirect to the loopback listener.
async fn scripted_sign_in(url: String) {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    let base = url.split("/7fe81447").next().unwrap().to_owned();
    let back = sign_in_frank(&b, &base, &page).await;
    let to_app = b.get(format!("{base}{back}")).send().await.unwrap();
    assert_eq!(to_app.status(), 302);
    let loopback = to_app.headers()["location"].to_str().unwrap().to_owned();
    assert!(loopback.starts_with("http://127.0.0.1:"), "{loopback}");
    let landed = b.get(&loopback).send().await.unwrap().text().await.unwrap();
    assert!(landed.contains("Signed in"));
}

#[tokio::test]
async fn an_interactive_call_reauthorizes_for_the_scope_the_api_names() {
    let world = world().await;
    let files_api = Router::new().merge(protected_api(&world.authority, FILES).await);
    let url = format!("{}/api/read", serve_on_loopback(files_api).await);
    let c = Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        ..ClientConfig::new(DESKTOP)
    })
    .unwrap();
    // A token with only user_impersonation, as an earlier sign-in left it.
    holds_only_user_impersonation(&c, &world).await;
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let browser = tokio::spawn(async move { scripted_sign_in(rx.await.unwrap()).await });
    let response = c
        .call_interactive(&url, Some(FILES), move |sign_in| {
            assert!(sign_in.contains("scope=Files.Read"), "{sign_in}");
            tx.send(sign_in.to_owned()).unwrap();
        })
        .await
        .unwrap();
    browser.await.unwrap();
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn a_sign_in_the_app_does_not_admit_is_prompted_for_a_different_account() {
    let world = world().await;
    // Contoso HR requires assignment; Ivan is not assigned.
    let c = Client::new(ClientConfig {
        authority: Some(world.authority.clone()),
        credentials: Credentials {
            client_secret: Some("hr-secret-0123456789-abcdefghijklmnopq".into()),
            client_certificate: None,
            user: None,
        },
        ..ClientConfig::new("e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b")
    })
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let browser = tokio::spawn(async move {
        let url = rx.await.unwrap();
        let b = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = b.get(&url).send().await.unwrap().text().await.unwrap();
        let base = url.split("/7fe81447").next().unwrap().to_owned();
        let back = sign_in_as(&b, &base, &page, "ivan@contoso.example", "ivan-password").await;
        let to_app = b.get(format!("{base}{back}")).send().await.unwrap();
        assert_eq!(to_app.status(), 302);
        let loopback = to_app.headers()["location"].to_str().unwrap().to_owned();
        assert!(loopback.contains("error=access_denied"), "{loopback}");
        b.get(&loopback).send().await.unwrap();
    });
    let error = c
        .login(&world.authority, FILES, None, move |url| {
            tx.send(url.to_owned()).unwrap();
        })
        .await
        .unwrap_err();
    browser.await.unwrap();
    let Error::Authorize(refusal) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(refusal.error.as_str(), "access_denied");
    // AADSTS50105, not access_denied's "ask for consent".
    assert_eq!(error.action(), Action::DifferentAccount);
    assert_eq!(c.token_requests(), 0, "no code, nothing to redeem");
}
