//! An API's `app_id` and `access_token_version` (Azure AD's application id
//! and `accessTokenAcceptedVersion`): the API named by its GUID, v2 access
//! tokens with `aud` = the `app_id`, the token version following the API.

use latchkey_server::directory::parse_directory;
use serde_json::Value;

use crate::harness::*;

const FILES_APP_ID: &str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";

/// The test directory with `lines` added to the Contoso Files API.
fn files_with(lines: &str) -> String {
    let anchor = "app_id_uri = \"https://files.contoso.example/\"\n";
    let directory = contoso_with("");
    assert!(directory.contains(anchor));
    directory.replacen(anchor, &format!("{anchor}{lines}\n"), 1)
}

async fn server(lines: &str) -> TestServer {
    TestServer::start_with_directory(&files_with(lines), |_| {}).await
}

fn frank<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("grant_type", "password"),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
        ("username", "frank@contoso.example"),
        ("password", "frank-password"),
    ];
    params.extend_from_slice(extra);
    params
}

/// A password grant at the v2.0 token endpoint: the response document.
async fn v2_token(server: &TestServer, scope: &str) -> Value {
    let response = server
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&frank(&[("scope", scope)])))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A password grant at the v1 token endpoint: the response document.
async fn v1_token(server: &TestServer, resource: &str) -> Value {
    let response = server
        .token(TENANT, &frank(&[("resource", resource)]))
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn access_claims(body: &Value) -> Value {
    claims(body["access_token"].as_str().unwrap())
}

fn assert_v2_claims(claims: &Value, server: &TestServer, aud: &str) {
    assert_eq!(claims["aud"], aud);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["iss"], format!("{}/{TENANT}/v2.0", server.base));
    assert_eq!(claims["azp"], WEB);
    assert!(claims.get("appid").is_none());
}

fn assert_v1_claims(claims: &Value, server: &TestServer, aud: &str) {
    assert_eq!(claims["aud"], aud);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["iss"], format!("{}/{TENANT}/", server.base));
    assert_eq!(claims["appid"], WEB);
    assert!(claims.get("azp").is_none());
}

#[tokio::test]
async fn a_v2_token_for_an_api_with_an_app_id_has_it_as_aud() {
    let server = server(&format!("app_id = \"{FILES_APP_ID}\"")).await;
    let body = v2_token(&server, "https://files.contoso.example/Files.Read").await;
    assert_v2_claims(&access_claims(&body), &server, FILES_APP_ID);
    assert_eq!(body["scope"], "https://files.contoso.example/Files.Read");
    verify_with_jwks(&server, body["access_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn a_v1_token_keeps_the_app_id_uri_as_aud() {
    let server = server(&format!("app_id = \"{FILES_APP_ID}\"")).await;
    let body = v1_token(&server, FILES).await;
    assert_v1_claims(&access_claims(&body), &server, FILES);
}

#[tokio::test]
async fn without_an_app_id_a_v2_token_keeps_the_app_id_uri() {
    let server = TestServer::start().await;
    let body = v2_token(&server, "https://files.contoso.example/Files.Read").await;
    assert_v2_claims(&access_claims(&body), &server, FILES);
}

#[tokio::test]
async fn the_api_is_requested_by_its_guid_at_both_endpoints() {
    let server = server(&format!("app_id = \"{FILES_APP_ID}\"")).await;
    // v1: `resource` = the GUID; the app's permission and Frank's consent,
    // given for the App ID URI, apply: the same API.
    let body = v1_token(&server, FILES_APP_ID).await;
    assert_eq!(body["scope"], "Files.Read");
    assert_v1_claims(&access_claims(&body), &server, FILES);
    // v2.0: `{app_id}/Files.Read` and `api://{app_id}/Files.Read`; the
    // response's scope names the API as the request did (MSAL's cache key).
    for prefix in [FILES_APP_ID.to_owned(), format!("api://{FILES_APP_ID}")] {
        let scope = format!("{prefix}/Files.Read");
        let body = v2_token(&server, &scope).await;
        assert_eq!(body["scope"], scope.as_str());
        assert_v2_claims(&access_claims(&body), &server, FILES_APP_ID);
    }
    let body = v2_token(&server, &format!("{FILES_APP_ID}/.default")).await;
    assert_eq!(
        body["scope"],
        format!("{FILES_APP_ID}/Files.Read {FILES_APP_ID}/.default").as_str()
    );
}

#[tokio::test]
async fn without_an_app_id_a_guid_names_no_api() {
    let server = TestServer::start().await;
    let response = server
        .token(TENANT, &frank(&[("resource", FILES_APP_ID)]))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_resource");
}

#[tokio::test]
async fn access_token_version_2_gives_v2_tokens_at_the_v1_endpoint() {
    let server = server(&format!(
        "app_id = \"{FILES_APP_ID}\"\naccess_token_version = 2"
    ))
    .await;
    let body = v1_token(&server, FILES).await;
    assert_v2_claims(&access_claims(&body), &server, FILES_APP_ID);
    // The response keeps the v1 endpoint's shape.
    assert!(body["expires_in"].is_string());
    assert_eq!(body["resource"], FILES);
}

#[tokio::test]
async fn access_token_version_1_gives_v1_tokens_at_the_v2_endpoint() {
    let server = server(&format!(
        "app_id = \"{FILES_APP_ID}\"\naccess_token_version = 1"
    ))
    .await;
    let body = v2_token(&server, "https://files.contoso.example/Files.Read openid").await;
    assert_v1_claims(&access_claims(&body), &server, FILES);
    // The response keeps the v2.0 endpoint's shape, and its ID token v2.
    assert!(body["expires_in"].is_number());
    assert!(body.get("resource").is_none());
    assert_eq!(claims(body["id_token"].as_str().unwrap())["ver"], "2.0");
    // Asked by its GUID, a v1 token still names the App ID URI.
    let body = v2_token(&server, &format!("{FILES_APP_ID}/Files.Read")).await;
    assert_v1_claims(&access_claims(&body), &server, FILES);
}

#[tokio::test]
async fn access_token_version_2_without_an_app_id_keeps_the_app_id_uri() {
    let server = server("access_token_version = 2").await;
    let body = v1_token(&server, FILES).await;
    assert_v2_claims(&access_claims(&body), &server, FILES);
}

fn refusal(lines: &str) -> String {
    parse_directory(&files_with(lines)).unwrap_err().to_string()
}

#[test]
fn the_directory_file_refuses_a_bad_app_id_or_version() {
    assert_eq!(
        refusal("app_id = \"not-a-guid\""),
        "tenants[0].apis[0].app_id: 'not-a-guid' is not a GUID"
    );
    assert_eq!(
        refusal("app_id = \"{c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f}\""),
        "tenants[0].apis[0].app_id: '{c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f}' is not a GUID"
    );
    assert_eq!(
        refusal("access_token_version = 3"),
        "tenants[0].apis[0].access_token_version: 3 is not a token version (1 or 2)"
    );
    // Unique across the directory, like client ids: here the second API of
    // the tenant repeats the first's.
    let directory = files_with(&format!("app_id = \"{FILES_APP_ID}\"")).replacen(
        "app_id_uri = \"https://reports.contoso.example/\"\n",
        &format!(
            "app_id_uri = \"https://reports.contoso.example/\"\napp_id = \"{FILES_APP_ID}\"\n"
        ),
        1,
    );
    assert_eq!(
        parse_directory(&directory).unwrap_err().to_string(),
        format!("tenants[0].apis[1]: app_id {FILES_APP_ID} appears twice")
    );
    // The same GUID as an app's client id is allowed: in Azure AD one
    // registration is both the API and a client (on-behalf-of).
    assert!(parse_directory(&files_with(&format!("app_id = \"{WEB}\""))).is_ok());
}

#[tokio::test]
async fn a_consent_given_for_the_app_id_uri_applies_when_asked_by_guid() {
    // Frank's consent to Contoso Web names the API by its App ID URI.
    let anchor =
        "    client_id = \"2d4d11a2-f814-46a7-890a-274a72a7309e\"\n    scopes = [\"Files.Read\"]\n";
    let directory = files_with(&format!("app_id = \"{FILES_APP_ID}\""));
    assert_eq!(directory.matches(anchor).count(), 1);
    let directory = directory.replacen(
        anchor,
        &format!("{anchor}    api = \"https://files.contoso.example/\"\n"),
        1,
    );
    let server = TestServer::start_with_directory(&directory, |_| {}).await;
    let body = v2_token(&server, &format!("api://{FILES_APP_ID}/Files.Read")).await;
    assert_eq!(access_claims(&body)["scp"], "Files.Read");
    let body = v1_token(&server, FILES_APP_ID).await;
    assert_eq!(access_claims(&body)["scp"], "Files.Read");
}
