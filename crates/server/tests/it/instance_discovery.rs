//! Instance discovery (`/common/discovery/instance`), as Azure AD answers
//! MSAL about an authority host.

use serde_json::Value;

use crate::harness::{Expected, TENANT, TestServer, assert_token_error};

async fn discover(server: &TestServer, path: &str, endpoint: &str) -> reqwest::Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("api-version", "1.1")
        .append_pair("authorization_endpoint", endpoint)
        .finish();
    server
        .http
        .get(format!("{}{path}?{query}", server.base))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_document_names_this_servers_configuration_for_the_authority() {
    let server = TestServer::start().await;
    let host = server.base.strip_prefix("http://").unwrap().to_owned();
    for (path, endpoint, configuration) in [
        (
            "/common/discovery/instance",
            format!("{}/{TENANT}/oauth2/v2.0/authorize", server.base),
            format!(
                "{}/{TENANT}/v2.0/.well-known/openid-configuration",
                server.base
            ),
        ),
        // MSAL Python leaves the port out; v1 authorities get v1's document.
        (
            "/contoso.example/discovery/instance",
            "https://127.0.0.1/contoso.example/oauth2/authorize".to_owned(),
            format!(
                "{}/contoso.example/.well-known/openid-configuration",
                server.base
            ),
        ),
    ] {
        let response = discover(&server, path, &endpoint).await;
        assert_eq!(response.status(), 200, "{endpoint}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert_eq!(
            response.text().await.unwrap(),
            format!(
                r#"{{"tenant_discovery_endpoint":"{configuration}","api-version":"1.1","metadata":[{{"preferred_network":"{host}","preferred_cache":"{host}","aliases":["{host}"]}}]}}"#
            )
        );
    }
}

#[tokio::test]
async fn another_host_or_no_tenant_is_an_invalid_instance() {
    let server = TestServer::start().await;
    for endpoint in [
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://127.0.0.1/",
        "ftp://127.0.0.1/contoso.example/oauth2/authorize",
        "not a url",
    ] {
        let response = discover(&server, "/common/discovery/instance", endpoint).await;
        assert_token_error(
            response,
            Expected::new(
                400,
                "invalid_instance",
                50049,
                "Unknown or invalid instance.",
            ),
        )
        .await;
    }
    let response = server
        .http
        .get(format!(
            "{}/common/discovery/instance?api-version=1.1",
            server.base
        ))
        .send()
        .await
        .unwrap();
    let doc: Value = assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'authorization_endpoint'.",
        ),
    )
    .await;
    assert_eq!(doc["error"], "invalid_request");
}
