//! On-behalf-of through the library: a middle-tier API (Contoso Todo API,
//! confidential) exchanges the token a user's client (Contoso Todo Native)
//! sent it for one to Contoso Graph; refusals come back as token errors
//! with their client actions, never retried.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_client::{Action, Client, Error};
use serde_json::Value;

use crate::harness::{World, client, world};

const TODO_API: &str = "7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a";
const TODO_SECRET: &str = "todo-api-secret-0123456789-abcdefghijk";
const TODO_NATIVE: &str = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5";
const TODO_URI: &str = "api://todo.contoso.example";
const GRAPH: &str = "https://graph.contoso.example/";

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn middle_tier(world: &World) -> Client {
    client(world, |c| {
        c.client_id = TODO_API.into();
        c.credentials.client_secret = Some(TODO_SECRET.into());
    })
}

/// Ben's token to the Todo API, as his native client gets it.
async fn ben_token(world: &World) -> String {
    let native = client(world, |c| {
        c.client_id = TODO_NATIVE.into();
        c.credentials.client_secret = None;
    });
    native
        .password(
            &world.authority,
            TODO_URI,
            "ben@contoso.example",
            "ben-password",
            None,
        )
        .await
        .unwrap()
        .access_token
}

fn token_error(error: &Error) -> (&str, &[u32]) {
    match error {
        Error::Token(e) => (e.document.error.as_str(), e.document.error_codes.as_slice()),
        other => panic!("expected a token error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_middle_tier_gets_a_token_for_the_downstream_api_as_the_user() {
    let world = world().await;
    let assertion = ben_token(&world).await;
    let api = middle_tier(&world);
    let response = api
        .on_behalf_of(&world.authority, GRAPH, &assertion, None)
        .await
        .unwrap();
    assert_eq!(response.resource, GRAPH);
    assert_eq!(response.scope.as_deref(), Some("User.Read"));
    assert!(response.refresh_token.is_some());
    let token = claims(&response.access_token);
    assert_eq!(token["aud"], GRAPH);
    assert_eq!(token["upn"], "ben@contoso.example");
    assert_eq!(token["oid"], claims(&assertion)["oid"]);
    assert_eq!(token["appid"], TODO_API);
    assert_eq!(token["scp"], "User.Read");
    // The middle tier files it like any token, for its own calls.
    api.remember(&world.authority, GRAPH, &response);
    assert_eq!(
        api.access_token(&world.authority, GRAPH).await.unwrap(),
        response.access_token
    );
}

#[tokio::test]
async fn refusals_are_token_errors_with_their_actions() {
    let world = world().await;
    let assertion = ben_token(&world).await;

    // Ben never consented to Mail.Read: the user must consent.
    let api = middle_tier(&world);
    let error = api
        .on_behalf_of(&world.authority, GRAPH, &assertion, Some("Mail.Read"))
        .await
        .unwrap_err();
    assert_eq!(token_error(&error), ("invalid_grant", &[65001][..]));
    assert_eq!(error.action(), Action::AskForConsent);
    assert_eq!(api.token_requests(), 1, "invalid_grant is never retried");

    // An altered assertion fails its signature: nothing to retry.
    let (signed, _) = assertion.rsplit_once('.').unwrap();
    let altered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(b"forged"));
    let api = middle_tier(&world);
    let error = api
        .on_behalf_of(&world.authority, GRAPH, &altered, None)
        .await
        .unwrap_err();
    assert_eq!(token_error(&error), ("invalid_grant", &[50013][..]));
    assert_eq!(error.action(), Action::FixRequest);
    assert_eq!(api.token_requests(), 1);

    // A token of Frank's to Contoso Files is not one to the Todo API.
    let files = client(&world, |_| {})
        .password(
            &world.authority,
            crate::harness::FILES,
            "frank@contoso.example",
            "frank-password",
            None,
        )
        .await
        .unwrap();
    let error = middle_tier(&world)
        .on_behalf_of(&world.authority, GRAPH, &files.access_token, None)
        .await
        .unwrap_err();
    assert_eq!(token_error(&error), ("invalid_grant", &[500131][..]));

    // The public native client has no secret: its credentials are the problem.
    let native = client(&world, |c| {
        c.client_id = TODO_NATIVE.into();
        c.credentials.client_secret = None;
    });
    let error = native
        .on_behalf_of(&world.authority, GRAPH, &assertion, None)
        .await
        .unwrap_err();
    assert_eq!(token_error(&error), ("invalid_client", &[7000218][..]));
    assert_eq!(error.action(), Action::FixCredentials);
}
