//! The v2.0 keys routes, and what answers when no route does: the seed's
//! JSON document, never an empty body.

use crate::harness::*;

async fn text(server: &TestServer, path: &str) -> (u16, String) {
    let response = server
        .http
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_v2_keys_routes_publish_the_same_keys() {
    let server = TestServer::start().await;
    let (status, keys) = text(&server, "/common/discovery/keys").await;
    assert_eq!(status, 200);
    for path in [
        "/common/discovery/v2.0/keys".to_owned(),
        format!("/{TENANT}/discovery/v2.0/keys"),
        "/contoso.example/discovery/v2.0/keys".to_owned(),
    ] {
        assert_eq!(text(&server, &path).await, (200, keys.clone()), "{path}");
    }
    // Where Azure AD's v2.0 discovery points.
    let (_, doc) = server
        .get_json(&format!("/{TENANT}/v2.0/.well-known/openid-configuration"))
        .await;
    assert_eq!(
        doc["jwks_uri"],
        format!("{}/{TENANT}/discovery/v2.0/keys", server.base)
    );
    let (_, common) = server
        .get_json("/common/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(
        common["jwks_uri"],
        format!("{}/common/discovery/v2.0/keys", server.base)
    );
    assert_token_error(
        server
            .http
            .get(format!("{}/nowhere.example/discovery/v2.0/keys", server.base))
            .send()
            .await
            .unwrap(),
        Expected::new(400, "invalid_request", 90002, "Tenant 'nowhere.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_route_answers_the_seed_document_with_404() {
    let server = TestServer::start().await;
    let correlation = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d";
    for path in [
        "/",
        "/common/discovery/v2.0/kyes",
        "/favicon.ico",
        &format!("/{TENANT}/oauth2/v2.0/devicecodes"),
    ] {
        let response = server
            .http
            .get(format!("{}{path}", server.base))
            .header("client-request-id", correlation)
            .send()
            .await
            .unwrap();
        let message = format!(
            "Invalid request. The endpoint '{path}' does not exist. See the endpoints this server serves in its documentation (docs/endpoints.md)."
        );
        assert_token_error(
            response,
            Expected {
                correlation_id: Some(correlation),
                ..Expected::new(404, "invalid_request", 9002313, &message)
            },
        )
        .await;
    }
    // A POST too (the path, not the method, is what is unknown).
    let response = server
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/tokens", server.base))
        .send()
        .await
        .unwrap();
    assert_token_error(
        response,
        Expected::new(404, "invalid_request", 9002313, &format!("Invalid request. The endpoint '/{TENANT}/oauth2/v2.0/tokens' does not exist. See the endpoints this server serves in its documentation (docs/endpoints.md).")),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_method_on_a_get_route_answers_405_with_the_document() {
    let server = TestServer::start().await;
    for path in [
        format!("/{TENANT}/.well-known/openid-configuration"),
        format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
        "/common/discovery/keys".to_owned(),
        "/common/discovery/v2.0/keys".to_owned(),
        "/common/userrealm/frank@contoso.example".to_owned(),
    ] {
        let response = server
            .http
            .post(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        // The public routes answer CORS preflights: OPTIONS too.
        let allowed = if path.contains("userrealm") {
            "GET,HEAD"
        } else {
            "GET,HEAD,OPTIONS"
        };
        assert_eq!(response.headers()["allow"], allowed, "{path}");
        assert_token_error(
            response,
            Expected::new(
                405,
                "invalid_request",
                900561,
                "The endpoint only accepts GET requests. Received a POST request.",
            ),
        )
        .await;
    }
}
