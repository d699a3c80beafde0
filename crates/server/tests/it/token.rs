//! Every token endpoint error from a real condition, and the success paths.

use crate::harness::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const UNKNOWN_APP: &str = "Application with identifier '{id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.";

fn unknown_app(id: &str, tenant: &str) -> String {
    UNKNOWN_APP.replace("{id}", id).replace("{tenant}", tenant)
}

fn client_credentials<'a>(client: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_secret", secret),
        ("resource", FILES),
    ]
}

#[tokio::test]
async fn client_credentials_issues_a_v1_token_with_roles() {
    let server = TestServer::start().await;
    let response = server
        .token(TENANT, &client_credentials(WEB, WEB_SECRET))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert!(response.headers().contains_key("x-ms-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "expires_on",
            "ext_expires_in",
            "not_before",
            "resource",
            "token_type"
        ]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3600");
    assert_eq!(body["resource"], FILES);
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: i64 = body["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, 3600);

    let jwt = body["access_token"].as_str().unwrap();
    verify_with_jwks(&server, jwt).await;
    let claims = claims(jwt);
    assert_eq!(claims["aud"], FILES);
    assert_eq!(claims["iss"], format!("{}/{TENANT}/", server.base));
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], WEB);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["roles"], serde_json::json!(["Files.ReadAll"]));
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["sub"], claims["oid"]);
    assert!(claims.get("scp").is_none());
    assert_eq!(claims["exp"].as_i64().unwrap(), expires_on);
}

#[tokio::test]
async fn tenant_may_be_named_by_domain_or_common_and_basic_auth_works() {
    let server = TestServer::start().await;
    let basic = format!("Basic {}", STANDARD.encode(format!("{WEB}:{WEB_SECRET}")));
    for tenant in ["contoso.example", "COMMON", TENANT] {
        let response = server
            .token_with(
                tenant,
                &[("grant_type", "client_credentials"), ("resource", FILES)],
                |r| r.header("authorization", &basic),
            )
            .await;
        assert_eq!(response.status(), 200, "{tenant}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["tid"],
            TENANT
        );
    }
}

#[tokio::test]
async fn an_app_without_granted_roles_gets_a_token_without_roles() {
    let server = TestServer::start().await;
    let response = server
        .token(TENANT, &client_credentials(ROBOT, ROBOT_SECRET))
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        claims(body["access_token"].as_str().unwrap())
            .get("roles")
            .is_none()
    );
}

#[tokio::test]
async fn get_is_invalid_request() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(server.token_url(TENANT))
        .send()
        .await
        .unwrap();
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests. Received a GET request.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_invalid_request() {
    let server = TestServer::start().await;
    let response = server
        .http
        .post(server.token_url(TENANT))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002313, "Invalid request. The request body must be of type 'application/x-www-form-urlencoded'."),
    )
    .await;
}

#[tokio::test]
async fn missing_and_empty_parameters_are_invalid_request() {
    let server = TestServer::start().await;
    for params in [
        vec![("client_id", WEB)],
        vec![("grant_type", ""), ("client_id", WEB)],
    ] {
        let response = server.token(TENANT, &params).await;
        assert_token_error(
            response,
            Expected::new(
                400,
                "invalid_request",
                90014,
                "The request body must contain the following parameter: 'grant_type'.",
            ),
        )
        .await;
    }
    let response = server
        .token(TENANT, &[("grant_type", "client_credentials")])
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'client_id'.",
        ),
    )
    .await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            90014,
            "The request body must contain the following parameter: 'resource'.",
        ),
    )
    .await;
}

#[tokio::test]
async fn the_seeds_ambiguous_client_id_example() {
    let server = TestServer::start().await;
    let correlation = "6b3474d8-233e-463f-b0a3-86433d8ba889";
    let response = server
        .token_with(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "197451ec-ade4-40e4-b403-02105abd9049"),
                ("client_id", "597451ec-ade4-40e4-b403-02105abd9049"),
            ],
            |r| r.header("client-request-id", correlation),
        )
        .await;
    assert_token_error(
        response,
        Expected {
            correlation_id: Some(correlation),
            ..Expected::new(
                400,
                "invalid_request",
                90011,
                "Request is ambiguous, multiple application identifiers found. Application identifiers: '197451ec-ade4-40e4-b403-02105abd9049, 597451ec-ade4-40e4-b403-02105abd9049'.",
            )
        },
    )
    .await;
}

#[tokio::test]
async fn any_parameter_sent_twice_is_invalid_request() {
    let server = TestServer::start().await;
    let mut params = client_credentials(WEB, WEB_SECRET);
    params.push(("resource", FILES));
    let response = server.token(TENANT, &params).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            9002313,
            "Invalid request. The parameter 'resource' is present more than once.",
        ),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let server = TestServer::start().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "urn:example:magic"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type 'urn:example:magic'.",
        ),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_client_is_unauthorized_client() {
    let server = TestServer::start().await;
    let stranger = "11111111-2222-3333-4444-555555555555";
    let response = server
        .token("contoso.example", &client_credentials(stranger, WEB_SECRET))
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "unauthorized_client",
            700016,
            &unknown_app(stranger, "contoso.example"),
        ),
    )
    .await;
    // A client id that is not even a GUID is just as unknown.
    let response = server
        .token(TENANT, &client_credentials("not-a-guid", WEB_SECRET))
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "unauthorized_client",
            700016,
            &unknown_app("not-a-guid", TENANT),
        ),
    )
    .await;
}

#[tokio::test]
async fn a_client_of_another_tenant_is_unknown_here() {
    let server = TestServer::start().await;
    let response = server
        .token(STRICT_TENANT, &client_credentials(WEB, WEB_SECRET))
        .await;
    assert_token_error(
        response,
        Expected {
            strict: true,
            ..Expected::new(
                400,
                "unauthorized_client",
                700016,
                &unknown_app(WEB, STRICT_TENANT),
            )
        },
    )
    .await;
}

#[tokio::test]
async fn a_missing_secret_is_invalid_client() {
    let server = TestServer::start().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("resource", FILES),
            ],
        )
        .await;
    assert!(!response.headers().contains_key("www-authenticate"));
    assert_token_error(
        response,
        Expected::new(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    )
    .await;
}

const BAD_SECRET: &str = "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '2d4d11a2-f814-46a7-890a-274a72a7309e'.";

#[tokio::test]
async fn a_wrong_secret_in_the_body_is_invalid_client_without_a_challenge() {
    let server = TestServer::start().await;
    let wrong = "web-secret-0123456789-abcdefghijklmnoX";
    let response = server.token(TENANT, &client_credentials(WEB, wrong)).await;
    assert!(!response.headers().contains_key("www-authenticate"));
    let doc = assert_token_error(
        response,
        Expected::new(401, "invalid_client", 7000215, BAD_SECRET),
    )
    .await;
    assert!(
        !doc.to_string().contains(wrong),
        "the secret is never echoed"
    );
}

#[tokio::test]
async fn a_wrong_secret_over_basic_is_invalid_client_with_a_basic_challenge() {
    let server = TestServer::start().await;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{WEB}:nope-nope-nope-nope-nope-nope-nope-nope"))
    );
    let response = server
        .token_with(
            TENANT,
            &[("grant_type", "client_credentials"), ("resource", FILES)],
            |r| r.header("authorization", &basic),
        )
        .await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"latchkey\", charset=\"UTF-8\""
    );
    assert_token_error(
        response,
        Expected::new(401, "invalid_client", 7000215, BAD_SECRET),
    )
    .await;
}

#[tokio::test]
async fn credentials_in_both_header_and_body_are_invalid_request() {
    let server = TestServer::start().await;
    let basic = format!("Basic {}", STANDARD.encode(format!("{WEB}:{WEB_SECRET}")));
    let response = server
        .token_with(TENANT, &client_credentials(WEB, WEB_SECRET), |r| {
            r.header("authorization", &basic)
        })
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 9002313, "Invalid request. Client credentials were sent both in the Authorization header and in the request body; use only one."),
    )
    .await;
}

#[tokio::test]
async fn a_malformed_authorization_header_is_invalid_request() {
    let server = TestServer::start().await;
    for header in ["Bearer abc", "Basic %%%", "Basic"] {
        let response = server
            .token_with(
                TENANT,
                &[("grant_type", "client_credentials"), ("resource", FILES)],
                |r| r.header("authorization", header),
            )
            .await;
        assert_token_error(
            response,
            Expected::new(400, "invalid_request", 9002313, "Invalid request. The Authorization header is malformed; the token endpoint accepts 'Basic' client credentials only."),
        )
        .await;
    }
}

#[tokio::test]
async fn a_public_client_sending_a_secret_is_invalid_client() {
    let server = TestServer::start().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("client_secret", "anything"),
                ("resource", FILES),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(401, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."),
    )
    .await;
}

#[tokio::test]
async fn a_grant_the_client_may_not_use_is_unauthorized_client() {
    let server = TestServer::start().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", ROBOT),
                ("client_secret", ROBOT_SECRET),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(400, "unauthorized_client", 70000, "The application '5c6b0b7e-2a4f-4d7e-8f38-4c1f0e9a7b21' is not allowed to use the grant type 'password'."),
    )
    .await;
}

#[tokio::test]
async fn a_resource_not_in_the_tenant_is_invalid_resource() {
    let server = TestServer::start().await;
    let mut params = client_credentials(WEB, WEB_SECRET);
    params[3] = ("resource", "https://graph.example/");
    let response = server.token("contoso.example", &params).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_resource", 500011, "The resource principal named https://graph.example/ was not found in the tenant named contoso.example. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_tenant_is_invalid_request() {
    let server = TestServer::start().await;
    let response = server
        .token("nowhere.example", &client_credentials(WEB, WEB_SECRET))
        .await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_request", 90002, "Tenant 'nowhere.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )
    .await;
}

fn password_grant<'a>(
    client: &'a str,
    user: &'a str,
    password: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", client),
        ("username", user),
        ("password", password),
        ("resource", FILES),
    ]
}

#[tokio::test]
async fn password_grant_issues_delegated_scopes_and_a_refresh_token() {
    let server = TestServer::start().await;
    let mut params = password_grant(WEB, "Frank@Contoso.example", "frank-password");
    params.push(("client_secret", WEB_SECRET));
    params.push(("scope", "openid"));
    let response = server.token(TENANT, &params).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "Files.Read");
    assert_eq!(body["resource"], FILES);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    // `openid` in the scope adds an ID token (ADAL reads the user from it).
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], WEB);
    assert_eq!(id["upn"], "frank@contoso.example");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    let jwt = body["access_token"].as_str().unwrap();
    verify_with_jwks(&server, jwt).await;
    let user_claims = claims(jwt);
    assert_eq!(user_claims["scp"], "Files.Read");
    assert_eq!(user_claims["upn"], "frank@contoso.example");
    assert_eq!(user_claims["unique_name"], "frank@contoso.example");
    assert_eq!(user_claims["roles"], serde_json::json!(["Reader"]));
    assert_eq!(user_claims["appidacr"], "1");
    assert_ne!(
        user_claims["sub"], user_claims["oid"],
        "sub is pairwise per app"
    );

    // A public client: no secret, appidacr 0.
    let response = server
        .token(
            TENANT,
            &password_grant(CLI, "frank@contoso.example", "frank-password"),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["appidacr"],
        "0"
    );
}

const BAD_PASSWORD: &str = "Error validating credentials due to invalid username or password.";

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_invalid_grant() {
    let server = TestServer::start().await;
    for (user, password) in [
        ("frank@contoso.example", "not-franks"),
        ("ghost@contoso.example", "frank-password"),
    ] {
        let response = server
            .token(TENANT, &password_grant(CLI, user, password))
            .await;
        let doc = assert_token_error(
            response,
            Expected::new(400, "invalid_grant", 50126, BAD_PASSWORD),
        )
        .await;
        assert!(!doc.to_string().contains(password));
    }
}

#[tokio::test]
async fn a_user_with_a_second_factor_needs_interaction() {
    let server = TestServer::start().await;
    let mut params = password_grant(WEB, "mia@contoso.example", "mia-password");
    params.push(("client_secret", WEB_SECRET));
    let response = server.token(TENANT, &params).await;
    assert_token_error(
        response,
        Expected::new(400, "interaction_required", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://files.contoso.example/'."),
    )
    .await;
}

const NO_CONSENT: &str = "The user or administrator has not consented to use the application with ID '2d4d11a2-f814-46a7-890a-274a72a7309e' named 'Contoso Web'. Send an interactive authorization request for this user and resource.";

#[tokio::test]
async fn no_consent_is_invalid_grant_with_consent_required() {
    let server = TestServer::start().await;
    // Nora never consented to anything.
    let mut params = password_grant(WEB, "nora@contoso.example", "nora-password");
    params.push(("client_secret", WEB_SECRET));
    let response = server.token(TENANT, &params).await;
    assert_token_error(
        response,
        Expected {
            suberror: Some("consent_required"),
            ..Expected::new(400, "invalid_grant", 65001, NO_CONSENT)
        },
    )
    .await;
    // Frank consented to Files.Read only, not Files.Write.
    let mut params = password_grant(WEB, "frank@contoso.example", "frank-password");
    params.push(("client_secret", WEB_SECRET));
    params.push(("scope", "Files.Write"));
    let response = server.token(TENANT, &params).await;
    assert_token_error(
        response,
        Expected {
            suberror: Some("consent_required"),
            ..Expected::new(400, "invalid_grant", 65001, NO_CONSENT)
        },
    )
    .await;
}

#[tokio::test]
async fn a_scope_the_resource_does_not_define_is_invalid_scope() {
    let server = TestServer::start().await;
    let mut params = password_grant(WEB, "frank@contoso.example", "frank-password");
    params.push(("client_secret", WEB_SECRET));
    params.push(("scope", "openid Files.Delete"));
    let response = server.token(TENANT, &params).await;
    assert_token_error(
        response,
        Expected::new(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope Files.Delete is not valid."),
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_invalid_request() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 1024).await;
    let padding = "x".repeat(4096);
    let mut params = client_credentials(WEB, WEB_SECRET);
    params.push(("padding", &padding));
    let response = server.token(TENANT, &params).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            9002313,
            "Invalid request. The request body is larger than 1024 bytes.",
        ),
    )
    .await;
    // Sent chunked, without a Content-Length, the limit still holds.
    let (status, body) = raw_chunked_post(&server, &form(&params)).await;
    assert_eq!(status, 400);
    assert!(
        body.contains(
            "AADSTS9002313: Invalid request. The request body is larger than 1024 bytes."
        ),
        "{body}"
    );
}

/// POSTs `body` with `Transfer-Encoding: chunked` over a raw connection.
async fn raw_chunked_post(server: &TestServer, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut request = format!(
        "POST /{TENANT}/oauth2/token HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    for chunk in body.as_bytes().chunks(512) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    request.push_str("0\r\n\r\n");
    // The server may answer and close before reading everything.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn correlation_ids_are_echoed_only_when_they_are_guids() {
    let server = TestServer::start().await;
    let sent = "570a9ed3-bf1d-40d1-81ae-63465cc25488";
    let response = server
        .token_with(TENANT, &[("client_id", WEB)], |r| {
            r.header("client-request-id", sent)
                .header("return-client-request-id", "true")
        })
        .await;
    assert_eq!(response.headers()["client-request-id"], sent);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["correlation_id"], sent);

    let response = server
        .token_with(TENANT, &[("client_id", WEB)], |r| {
            r.header("client-request-id", "<script>alert(1)</script>")
        })
        .await;
    assert!(
        !response.headers().contains_key("client-request-id"),
        "echoed only on request"
    );
    let doc: serde_json::Value = response.json().await.unwrap();
    let replaced = doc["correlation_id"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(replaced).is_ok());
    assert!(!doc.to_string().contains("alert("));

    // Success responses carry the ids too.
    let response = server
        .token_with(TENANT, &client_credentials(WEB, WEB_SECRET), |r| {
            r.header("client-request-id", sent)
                .header("return-client-request-id", "true")
        })
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["client-request-id"], sent);
    assert!(uuid::Uuid::try_parse(response.headers()["x-ms-request-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn a_strict_tenant_writes_one_line_descriptions() {
    let server = TestServer::start().await;
    let response = server
        .token(
            STRICT_TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", FABRIKAM_DAEMON),
                ("client_secret", "wrong"),
            ],
        )
        .await;
    let doc = assert_token_error(
        response,
        Expected {
            strict: true,
            ..Expected::new(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'.")
        },
    )
    .await;
    let description = doc["error_description"].as_str().unwrap();
    assert!(
        description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    );

    let response = server
        .token(
            STRICT_TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", FABRIKAM_DAEMON),
                ("client_secret", FABRIKAM_SECRET),
                ("resource", "api://fabrikam"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_strict_server_profile_applies_to_every_tenant_that_sets_none() {
    let server = TestServer::start_with(|c| c.profile = latchkey_server::Profile::Strict).await;
    let response = server.token(TENANT, &[("client_id", WEB)]).await;
    assert_token_error(
        response,
        Expected {
            strict: true,
            ..Expected::new(
                400,
                "invalid_request",
                90014,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        },
    )
    .await;
}

#[tokio::test]
async fn an_unknown_authorization_code_is_invalid_grant() {
    let server = TestServer::start().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", "made-up"),
                ("redirect_uri", "http://localhost:5000/callback"),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed.",
        ),
    )
    .await;
}

#[tokio::test]
async fn overload_is_temporarily_unavailable_with_retry_after() {
    let server = TestServer::start_with(|c| {
        c.max_in_flight = 1;
        c.scenarios = vec![slow_robot(1500)];
    })
    .await;
    // Hold the only slot: a request that has arrived and is being served.
    let held = server.hold_a_permit();
    let response = until_shed(|| async {
        let attempt = server
            .token(TENANT, &client_credentials(WEB, WEB_SECRET))
            .await;
        (attempt.status() == 503).then_some(attempt)
    })
    .await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert_token_error(
        response,
        Expected::new(
            503,
            "temporarily_unavailable",
            90055,
            "The server is temporarily too busy to handle the request. Please try again later.",
        ),
    )
    .await;
    held.await.unwrap();
    // Once the slot is free, requests succeed again.
    let response = server
        .token(TENANT, &client_credentials(WEB, WEB_SECRET))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_broken_body_on_a_route_that_reads_none_still_needs_a_permit() {
    let server = TestServer::start_with(|c| {
        c.max_in_flight = 1;
        c.scenarios = vec![slow_robot(1500)];
    })
    .await;
    let held = server.hold_a_permit();
    // The keys route reads no body: before the fix, a body that never
    // arrived whole let it run with no permit, past the limit.
    let broken = format!(
        "GET /{TENANT}/discovery/keys HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\n"
    );
    let shed = until_shed(|| async {
        let answer = server.raw(broken.as_bytes()).await;
        (answer.status == 503).then_some(answer)
    })
    .await;
    let doc: serde_json::Value = serde_json::from_str(&shed.body).unwrap();
    assert_eq!(doc["error_codes"], serde_json::json!([90055]));
    held.await.unwrap();
}

/// Tries `attempt` until it is shed (a 503 while a held request has the
/// only permit), at most 50 times, 20 ms apart.
async fn until_shed<T, F, Fut>(attempt: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..50 {
        if let Some(shed) = attempt().await {
            return shed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no 503 while the slot is held")
}

/// Headers, then a body that stops: `content-length` says 100.
fn stalled_token_request() -> String {
    format!(
        "POST /{TENANT}/oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ngrant_type="
    )
}

#[tokio::test]
async fn a_body_that_stops_arriving_holds_no_permit_and_is_refused_in_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(|c| {
        c.max_in_flight = 1;
        c.body_read_timeout = std::time::Duration::from_secs(1);
        c.body_min_rate = 0;
    })
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
        slow.write_all(stalled_token_request().as_bytes())
            .await
            .unwrap();
        stalled.push(slow);
    }
    // Well-behaved requests are served meanwhile, never 503.
    for _ in 0..3 {
        let response = server
            .token(TENANT, &client_credentials(WEB, WEB_SECRET))
            .await;
        assert_eq!(response.status(), 200);
    }
    // Each stalled request is answered once its time is up.
    for mut slow in stalled {
        let mut response = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            slow.read_to_end(&mut response),
        )
        .await
        .expect("the server ends the stalled request")
        .unwrap();
        RawResponse::parse(&response).assert_token_error(
            400,
            "invalid_request",
            9002313,
            "Invalid request. The request body did not arrive in time.",
        );
    }
}

#[tokio::test]
async fn broken_chunked_framing_is_answered_with_the_json_document() {
    let request = format!(
        "POST /{TENANT}/oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\ngrant_type\r\n0\r\n\r\n"
    );
    let server = TestServer::start().await;
    server.raw(request.as_bytes()).await.assert_token_error(
        400,
        "invalid_request",
        9002313,
        "Invalid request. The request body could not be read: its HTTP framing is malformed.",
    );
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let server = TestServer::start().await;
    let basic =
        |id: &str, secret: &str| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let response = server
        .token_with(
            TENANT,
            &[("grant_type", "client_credentials"), ("resource", FILES)],
            |r| {
                r.header("authorization", basic(WEB, WEB_SECRET))
                    .header("authorization", basic(ROBOT, ROBOT_SECRET))
            },
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            9002313,
            "Invalid request. The Authorization header is present more than once; send the client credentials once.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_tenant_segment_that_is_not_utf8_is_the_json_document() {
    let server = TestServer::start().await;
    let expected = || {
        Expected::new(
            400,
            "invalid_request",
            900023,
            "Specified tenant identifier '%FF%FE' is neither a valid DNS name, nor a valid external domain.",
        )
    };
    let response = server
        .http
        .post(format!("{}/%FF%FE/oauth2/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&client_credentials(WEB, WEB_SECRET)))
        .send()
        .await
        .unwrap();
    assert_token_error(response, expected()).await;
    for path in [
        "/%FF%FE/oauth2/v2.0/token",
        "/%FF%FE/.well-known/openid-configuration",
        "/%FF%FE/discovery/keys",
    ] {
        let response = server
            .http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {status} {body}"));
        assert_eq!(doc["error_codes"], serde_json::json!([900023]), "{path}");
    }
}

#[tokio::test]
async fn a_broken_store_is_server_error_without_internals() {
    let server = TestServer::start().await;
    // Break the database under the running server, as a failed disk or a
    // botched manual change would.
    let path = server.db_path.clone();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("DROP TABLE refresh_tokens")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let mut params = password_grant(CLI, "frank@contoso.example", "frank-password");
    params.push(("scope", "openid"));
    let response = server.token(TENANT, &params).await;
    let doc = assert_token_error(
        response,
        Expected::new(
            500,
            "server_error",
            50000,
            "There was an error issuing a token or an issue with our sign-in service.",
        ),
    )
    .await;
    let text = doc.to_string();
    assert!(
        !text.contains("refresh_tokens") && !text.contains("sqlite") && !text.contains("table")
    );
}
