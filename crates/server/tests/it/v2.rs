//! The v2.0 token endpoint and discovery: scopes name the resource; v2
//! responses and claims; errors keep the seed's six fields.

use crate::harness::*;

impl TestServer {
    async fn token_v2(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(params))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn client_credentials_with_default_scope_gets_a_v2_token() {
    let server = TestServer::start().await;
    let response = server
        .token_v2(&[
            ("grant_type", "client_credentials"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("scope", "https://files.contoso.example/.default"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "ext_expires_in", "token_type"]
    );
    assert_eq!(body["expires_in"], 3600, "a number in v2");
    let jwt = body["access_token"].as_str().unwrap();
    verify_with_jwks(&server, jwt).await;
    let claims = claims(jwt);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["iss"], format!("{}/{TENANT}/v2.0", server.base));
    assert_eq!(claims["azp"], WEB);
    assert_eq!(claims["azpacr"], "1");
    assert!(claims.get("appid").is_none());
    assert_eq!(claims["aud"], FILES);
    assert_eq!(claims["roles"], serde_json::json!(["Files.ReadAll"]));
}

#[tokio::test]
async fn password_and_refresh_with_named_scopes() {
    let server = TestServer::start().await;
    let response = server
        .token_v2(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "frank@contoso.example"),
            ("password", "frank-password"),
            (
                "scope",
                "https://files.contoso.example/Files.Read openid offline_access",
            ),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["scope"],
        "https://files.contoso.example/Files.Read openid offline_access"
    );
    assert!(body.get("resource").is_none());
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scp"],
        "Files.Read"
    );
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["iss"], format!("{}/{TENANT}/v2.0", server.base));
    let refreshed = server
        .token_v2(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("scope", "https://files.contoso.example/Files.Read"),
        ])
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: serde_json::Value = refreshed.json().await.unwrap();
    assert!(refreshed["expires_in"].is_number());
}

#[tokio::test]
async fn v2_errors_keep_the_seeds_six_fields() {
    let server = TestServer::start().await;
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
    ];
    let with = |scope: &'static str| {
        let mut params = base.to_vec();
        params.push(("scope", scope));
        params
    };
    assert_token_error(
        server.token_v2(&base).await,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'scope'.",
        ),
    )
    .await;
    assert_token_error(
        server.token_v2(&with("https://graph.example/.default")).await,
        Expected::new(400, "invalid_resource", 500011, &format!("The resource principal named https://graph.example was not found in the tenant named {TENANT}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")),
    )
    .await;
    assert_token_error(
        server.token_v2(&with("https://files.contoso.example/.default https://reports.contoso.example/Reports.Read")).await,
        Expected::new(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope https://files.contoso.example/.default https://reports.contoso.example/Reports.Read is not valid."),
    )
    .await;
}

#[tokio::test]
async fn v2_discovery_names_the_v2_endpoints() {
    let server = TestServer::start().await;
    let (status, doc) = server
        .get_json(&format!("/{TENANT}/v2.0/.well-known/openid-configuration"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], format!("{}/{TENANT}/v2.0", server.base));
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/{TENANT}/oauth2/v2.0/token", server.base)
    );
    let (_, common) = server
        .get_json("/common/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(
        common["issuer"],
        format!("{}/{{tenantid}}/v2.0", server.base)
    );
}

const WEB_CALLBACK: &str = "http://localhost:5000/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_v2_url(server: &TestServer, params: &[(&str, &str)]) -> String {
    format!(
        "{}/{TENANT}/oauth2/v2.0/authorize?{}",
        server.base,
        form(params)
    )
}

#[tokio::test]
async fn v2_authorization_code_flow_with_scopes_and_a_spec_strict_redemption() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = authorize_v2_url(
        &server,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            (
                "scope",
                "https://files.contoso.example/Files.Read openid offline_access",
            ),
            ("state", "v2-state"),
            ("nonce", "v2-nonce"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    let page = server.open(&b, &url).await;
    assert!(
        unescape(page.page()).contains(&format!("action=\"/{TENANT}/oauth2/v2.0/authorize\"")),
        "the pages post back to the v2.0 endpoint"
    );
    let outcome = server
        .sign_in(&b, &url, "frank@contoso.example", "frank-password")
        .await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["state"], "v2-state");
    // RFC 6749 §4.1.3: no scope when redeeming a code.
    let response = server
        .token_v2(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("code", &delivered["code"]),
            ("redirect_uri", WEB_CALLBACK),
            ("code_verifier", VERIFIER),
            ("client_info", "1"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["expires_in"].is_number());
    assert!(body.get("resource").is_none());
    // No scope in the redemption: the API's App ID URI qualifies it.
    assert_eq!(body["scope"], "https://files.contoso.example/Files.Read");
    assert!(body["client_info"].is_string(), "the code grant too");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["ver"], "2.0");
    assert_eq!(access["scp"], "Files.Read");
    assert_eq!(access["azp"], WEB);
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], format!("{}/{TENANT}/v2.0", server.base));
    assert_eq!(id["nonce"], "v2-nonce");
    assert_eq!(id["aud"], WEB);

    let refreshed = server
        .token_v2(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refreshed.status(), 200, "a refresh needs no scope either");
    let refreshed: serde_json::Value = refreshed.json().await.unwrap();
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["aud"],
        FILES
    );
}

#[tokio::test]
async fn v2_authorize_errors_go_back_to_the_client() {
    let server = TestServer::start().await;
    let b = server.browser();
    let base = [
        ("client_id", WEB),
        ("redirect_uri", WEB_CALLBACK),
        ("response_type", "code"),
        ("state", "s"),
    ];
    let cases: [(Option<&str>, &str, &str); 4] = [
        (
            None,
            "invalid_request",
            "AADSTS90014: The request body must contain the following parameter: 'scope'.",
        ),
        (
            Some("https://graph.example/User.Read"),
            "invalid_resource",
            "AADSTS500011: The resource principal named https://graph.example was not found",
        ),
        (
            Some("openid profile"),
            "invalid_scope",
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope openid profile is not valid.",
        ),
        (
            Some("https://files.contoso.example/Files.Delete"),
            "invalid_scope",
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope Files.Delete is not valid.",
        ),
    ];
    for (scope, error, description) in cases {
        let mut params = base.to_vec();
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        let outcome = server.open(&b, &authorize_v2_url(&server, &params)).await;
        let delivered = outcome.delivered();
        assert_eq!(delivered["error"], error, "{scope:?}");
        assert!(
            delivered["error_description"].starts_with(description),
            "{scope:?}: {}",
            delivered["error_description"]
        );
        assert_eq!(delivered["state"], "s");
    }
}

#[tokio::test]
async fn a_scenario_for_a_resource_fires_on_v2_authorize_requests_naming_its_api() {
    const ADMIN_KEY: &str = "admin-key-0123456789abcdef";
    let server = TestServer::start_with(|c| c.admin_key = Some(ADMIN_KEY.into())).await;
    let added = server
        .http
        .post(format!("{}/_admin/scenarios", server.base))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({
            "tenant": TENANT, "endpoint": "authorize", "resource": FILES,
            "error": "interaction_required", "times": 1
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let b = server.browser();
    let url = authorize_v2_url(
        &server,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("scope", "https://files.contoso.example/Files.Read openid"),
            ("state", "s"),
        ],
    );
    let outcome = server.open(&b, &url).await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "interaction_required");
    assert!(
        delivered["error_description"].contains(FILES),
        "the description names the API the scope names: {delivered:?}"
    );
    // Spent: the sign-in page.
    assert!(server.open(&b, &url).await.page().contains("id=\"signin\""));
}
