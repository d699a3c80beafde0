//! What MSAL's token cache needs from a token response: `client_info`
//! (its account key), an ID token at every refresh of an `openid` sign-in
//! (the account the refreshed tokens are filed under), and a v2.0 `scope`
//! that names the API as the request did (the access-token lookup key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::harness::*;

/// Frank's object id (derived from the tenant and his UPN).
const FRANK_OID: &str = "fedbcb65-996a-59dd-8156-771d0a8b0016";
/// `{"uid":"<Frank's oid>","utid":"<Contoso>"}`, base64url, no padding.
const FRANK_CLIENT_INFO: &str = "eyJ1aWQiOiJmZWRiY2I2NS05OTZhLTU5ZGQtODE1Ni03NzFkMGE4YjAwMTYiLCJ1dGlkIjoiN2ZlODE0NDctZGE1Ny00Mzg1LWJlY2ItNmRlNTdmMjE0NzdlIn0";

impl TestServer {
    async fn v2(&self, params: &[(&str, &str)]) -> serde_json::Value {
        let response = self
            .http
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(params))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn v1(&self, params: &[(&str, &str)]) -> serde_json::Value {
        let response = self.token(TENANT, params).await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }
}

const MSAL_SCOPE: &str = "https://files.contoso.example/Files.Read openid profile offline_access";

fn frank_password_v2(scope: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", CLI),
        ("username", "frank@contoso.example"),
        ("password", "frank-password"),
        ("scope", scope),
        ("client_info", "1"),
    ]
}

fn keys(body: &serde_json::Value) -> Vec<&str> {
    body.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn client_info_is_the_users_oid_and_tenant_in_unpadded_base64url() {
    let server = TestServer::start().await;
    let body = server.v2(&frank_password_v2(MSAL_SCOPE)).await;
    assert_eq!(body["client_info"], FRANK_CLIENT_INFO);
    let decoded = URL_SAFE_NO_PAD
        .decode(body["client_info"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!(r#"{{"uid":"{FRANK_OID}","utid":"{TENANT}"}}"#)
    );
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["oid"],
        FRANK_OID
    );
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "client_info",
            "expires_in",
            "ext_expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );

    // The refresh carries it too, and so does v1.
    let refreshed = server
        .v2(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("scope", MSAL_SCOPE),
            ("client_info", "1"),
        ])
        .await;
    assert_eq!(refreshed["client_info"], FRANK_CLIENT_INFO);
    let v1 = server
        .v1(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "frank@contoso.example"),
            ("password", "frank-password"),
            ("resource", FILES),
            ("client_info", "1"),
        ])
        .await;
    assert_eq!(v1["client_info"], FRANK_CLIENT_INFO);
}

#[tokio::test]
async fn client_info_only_when_asked_and_only_for_a_user() {
    let server = TestServer::start().await;
    let mut params = frank_password_v2(MSAL_SCOPE);
    params.pop();
    let body = server.v2(&params).await;
    assert!(body.get("client_info").is_none(), "{body}");
    let app_only = server
        .v2(&[
            ("grant_type", "client_credentials"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("scope", "https://files.contoso.example/.default"),
            ("client_info", "1"),
        ])
        .await;
    assert_eq!(
        keys(&app_only),
        ["access_token", "expires_in", "ext_expires_in", "token_type"]
    );
}

#[tokio::test]
async fn a_refresh_of_an_openid_sign_in_carries_an_id_token() {
    let server = TestServer::start().await;
    let body = server.v2(&frank_password_v2(MSAL_SCOPE)).await;
    let first = claims(body["id_token"].as_str().unwrap());
    let refreshed = server
        .v2(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("scope", MSAL_SCOPE),
            ("client_info", "1"),
        ])
        .await;
    let id = claims(refreshed["id_token"].as_str().unwrap());
    for claim in [
        "aud",
        "iss",
        "oid",
        "sub",
        "tid",
        "preferred_username",
        "ver",
    ] {
        assert_eq!(id[claim], first[claim], "{claim}");
    }
    assert_eq!(id["aud"], CLI);
    assert_eq!(id["tid"], TENANT);
    assert!(id.get("nonce").is_none(), "OpenID Connect Core §12.2");
    let signed_in = first["amr"].clone();
    assert_eq!(signed_in, serde_json::json!(["pwd"]));
    assert_eq!(
        id["amr"], signed_in,
        "the refresh token keeps how its sign-in went"
    );

    // v1 too: ADAL reads the user from it.
    let v1 = server
        .v1(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "frank@contoso.example"),
            ("password", "frank-password"),
            ("resource", FILES),
            ("scope", "openid"),
        ])
        .await;
    let v1_refreshed = server
        .v1(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", v1["refresh_token"].as_str().unwrap()),
        ])
        .await;
    let id = claims(v1_refreshed["id_token"].as_str().unwrap());
    assert_eq!(id["upn"], "frank@contoso.example");
    assert_eq!(id["ver"], "1.0");
}

#[tokio::test]
async fn a_refresh_of_a_sign_in_without_openid_has_no_id_token() {
    let server = TestServer::start().await;
    let body = server
        .v2(&frank_password_v2(
            "https://files.contoso.example/Files.Read offline_access",
        ))
        .await;
    assert!(body.get("id_token").is_none());
    let refreshed = server
        .v2(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert!(refreshed.get("id_token").is_none(), "{refreshed}");
}

#[tokio::test]
async fn the_v2_scope_names_the_api_as_the_request_did() {
    let server = TestServer::start().await;
    let body = server.v2(&frank_password_v2(MSAL_SCOPE)).await;
    assert_eq!(body["scope"], MSAL_SCOPE);
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scp"],
        "Files.Read",
        "the token's own scp stays bare"
    );

    // `.default`: every granted scope, and `.default` itself, so a lookup
    // by `.default` hits; with the identifier as written (`//`).
    let refreshed = server
        .v2(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            (
                "scope",
                "https://files.contoso.example//.default openid profile offline_access",
            ),
        ])
        .await;
    assert_eq!(
        refreshed["scope"],
        "https://files.contoso.example//Files.Read https://files.contoso.example//.default openid profile offline_access"
    );

    // v1 is unchanged: bare names, as Azure AD v1 writes them.
    let v1 = server
        .v1(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "frank@contoso.example"),
            ("password", "frank-password"),
            ("resource", FILES),
        ])
        .await;
    assert_eq!(v1["scope"], "Files.Read");
}
