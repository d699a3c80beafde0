//! Every refusal of docs/spec/seed-000-resource-errors.txt, asserted on
//! status and each challenge parameter.

use crate::harness::*;
use latchkey_resource::ResourceConfig;
use serde_json::json;

const MISSING: &str = "The access token is missing.";

#[tokio::test]
async fn no_token_is_the_seeds_missing_token_challenge_byte_for_byte() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    let answer = api.get("/api/read", None).await;
    answer.assert_refused(&authority, 401, "invalid_token", MISSING);
    assert_eq!(
        answer.www_authenticate.as_deref().unwrap(),
        format!(
            r#"Bearer authorization_uri="{}", error="invalid_token", error_description="The access token is missing.", resource_id="https://files.contoso.example/""#,
            authority.authorization_uri()
        )
    );
    assert_eq!(
        api.get("/health", None).await.status,
        200,
        "open routes stay open"
    );
}

#[tokio::test]
async fn the_seeds_empty_bearer_request_is_a_missing_token() {
    // docs/spec/seed-000-resource-errors.txt: "GET /resource HTTP/1.1  Authorization: Bearer".
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    api.get("/api/read", Some("Bearer")).await.assert_refused(
        &authority,
        401,
        "invalid_token",
        MISSING,
    );
    api.get("/api/read", Some("Bearer   "))
        .await
        .assert_refused(&authority, 401, "invalid_token", MISSING);
}

#[tokio::test]
async fn a_valid_token_passes_and_the_scheme_is_case_insensitive() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    let token = key.token(&authority, json!({}));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let answer = api
            .get("/api/read", Some(&format!("{scheme} {token}")))
            .await;
        assert_eq!(answer.status, 200, "{scheme}: {answer:?}");
        assert_eq!(answer.body, "deNqIj9IOE9PWJWbHsftXt2EabPVl0Cj8QAmefRLV98");
    }
    // RFC 6750 §2.3: the query parameter works too.
    let response = api
        .http
        .get(format!("{}/api/read?access_token={token}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_v2_token_passes_with_the_v2_issuer_and_no_other() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    let v2 = |iss: String| {
        key.token(
            &authority,
            json!({"iss": iss, "ver": "2.0", "appid": null, "appidacr": null,
                   "azp": "2d4d11a2-f814-46a7-890a-274a72a7309e", "azpacr": "1"}),
        )
    };
    let accepted = api
        .bearer("/api/read", &v2(format!("{}/{TID}/v2.0", authority.base)))
        .await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    let elsewhere = api
        .bearer("/api/read", &v2(format!("https://evil.example/{TID}/v2.0")))
        .await;
    assert_eq!(elsewhere.status, 401);
    assert!(
        elsewhere
            .www_authenticate
            .as_deref()
            .is_some_and(|c| c.contains("The access token was issued by an untrusted issuer.")),
        "{elsewhere:?}"
    );
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    let token = key.token(&authority, json!({}));
    let malformed =
        "The Authorization header is malformed; it must be 'Bearer' followed by the access token.";
    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer two tokens",
        "Bearer tok\"en",
        "Token abc",
    ] {
        api.get("/api/read", Some(header)).await.assert_refused(
            &authority,
            400,
            "invalid_request",
            malformed,
        );
    }
    // Two Authorization headers.
    let response = api
        .http
        .get(format!("{}/api/read", api.base))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_refused(
        &authority,
        400,
        "invalid_request",
        "The request carries more than one access token.",
    );
    // access_token twice in the query.
    let response = api
        .http
        .get(format!(
            "{}/api/read?access_token={token}&access_token={token}",
            api.base
        ))
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_refused(
        &authority,
        400,
        "invalid_request",
        "The request carries more than one access token.",
    );
    // Header and query.
    let response = api
        .http
        .get(format!("{}/api/read?access_token={token}", api.base))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_refused(
        &authority,
        400,
        "invalid_request",
        "The access token was sent both in the Authorization header and in the query string.",
    );
}

#[tokio::test]
async fn an_expired_token_gets_the_seeds_description() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    let token = key.token(
        &authority,
        json!({"exp": now() - 3600, "nbf": now() - 7200, "iat": now() - 7200}),
    );
    let answer = api.bearer("/api/read", &token).await;
    answer.assert_refused(
        &authority,
        401,
        "invalid_token",
        "The access token is expired.",
    );
}

#[tokio::test]
async fn a_missing_scope_is_insufficient_scope_naming_it() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    let token = key.token(&authority, json!({"scp": "user_impersonation"}));
    let answer = api.bearer("/api/read", &token).await;
    answer.assert_refused(
        &authority,
        403,
        "insufficient_scope",
        "The access token does not contain the impersonation permissions required to access the resource.",
    );
    assert_eq!(
        answer.challenge.unwrap().scope.as_deref(),
        Some("Files.Read")
    );
    assert_eq!(
        answer.www_authenticate.unwrap(),
        format!(
            r#"Bearer authorization_uri="{}", error="insufficient_scope", error_description="The access token does not contain the impersonation permissions required to access the resource.", scope="Files.Read", resource_id="https://files.contoso.example/""#,
            authority.authorization_uri()
        )
    );
}

const NEEDS_MFA: &str = "The access token does not show multi-factor authentication, which the resource requires: authorize again with the claims of this challenge.";

#[tokio::test]
async fn a_token_without_a_second_factor_gets_the_claims_challenge_byte_for_byte() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    // A password-only sign-in, and a token that does not say (`amr` absent).
    for amr in [json!(["pwd"]), json!(null)] {
        let token = key.token(&authority, json!({ "amr": amr }));
        let answer = api.bearer("/api/mfa", &token).await;
        answer.assert_refused(&authority, 401, "insufficient_claims", NEEDS_MFA);
        // As Microsoft's protected APIs send it: the claims request in
        // padded base64, here `{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}`.
        assert_eq!(
            answer.www_authenticate.as_deref().unwrap(),
            format!(
                r#"Bearer authorization_uri="{}", error="insufficient_claims", error_description="{NEEDS_MFA}", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYW1yIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWVzIjpbIm1mYSJdfX19", resource_id="https://files.contoso.example/""#,
                authority.authorization_uri()
            )
        );
        let claims = answer.challenge.unwrap().claims.unwrap();
        assert_eq!(
            latchkey_protocol::ClaimsRequest::from_challenge(&claims).as_deref(),
            Some(r#"{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}"#)
        );
    }
    let stepped_up = key.token(&authority, json!({"amr": ["pwd", "mfa"]}));
    let answer = api.bearer("/api/mfa", &stepped_up).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "mfa"),
        "{answer:?}"
    );
    // The scope is checked first: what to ask for is named one at a time.
    let narrow = key.token(
        &authority,
        json!({"scp": "user_impersonation", "amr": ["pwd"]}),
    );
    api.bearer("/api/mfa", &narrow).await.assert_refused(
        &authority,
        403,
        "insufficient_scope",
        "The access token does not contain the impersonation permissions required to access the resource.",
    );
    // An application has no second factor to pass.
    let app = key.token(&authority, json!({"scp": null, "roles": ["Files.ReadAll"]}));
    api.bearer("/api/mfa", &app).await.assert_refused(
        &authority,
        403,
        "insufficient_access",
        NO_ACCESS,
    );
}

const NO_ACCESS: &str = "The subject of the token does not have the permissions that are required to access the resource.";

#[tokio::test]
async fn a_missing_role_is_insufficient_access() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    // An app token without the read role.
    let app = key.token(
        &authority,
        json!({"scp": null, "upn": null, "roles": ["Something.Else"]}),
    );
    api.bearer("/api/read", &app).await.assert_refused(
        &authority,
        403,
        "insufficient_access",
        NO_ACCESS,
    );
    // An app token with the read role reads.
    let reader = key.token(
        &authority,
        json!({"scp": null, "upn": null, "roles": ["Files.ReadAll"]}),
    );
    assert_eq!(api.bearer("/api/read", &reader).await.status, 200);
    // A user who may read but is not an admin.
    let user = key.token(&authority, json!({}));
    api.bearer("/api/admin", &user).await.assert_refused(
        &authority,
        403,
        "insufficient_access",
        NO_ACCESS,
    );
    let admin = key.token(&authority, json!({"roles": ["Files.Admin"]}));
    assert_eq!(api.bearer("/api/admin", &admin).await.status, 200);
}

#[tokio::test]
async fn strict_mode_leaves_the_error_out_without_credentials() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let mut config = ResourceConfig::new(authority.authority_url(), RESOURCE);
    config.strict = true;
    let api = Api::start_with(config).await;
    let answer = api.get("/api/read", None).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.www_authenticate.unwrap(),
        format!(
            r#"Bearer realm="https://files.contoso.example/", authorization_uri="{}", resource_id="https://files.contoso.example/""#,
            authority.authorization_uri()
        )
    );
    // With credentials, strict mode still names the error.
    let answer = api.get("/api/read", Some("Bearer")).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.challenge.unwrap().error.unwrap().as_str(),
        "invalid_request"
    );
}

#[tokio::test]
async fn quoted_values_are_escaped() {
    let key = TestKey::new("k1");
    let authority = Authority::start(&[&key]).await;
    let weird = r#"api://we"ird\id"#;
    let api = Api::start_with(ResourceConfig::new(authority.authority_url(), weird)).await;
    let answer = api.get("/api/read", None).await;
    assert!(
        answer
            .www_authenticate
            .as_deref()
            .unwrap()
            .ends_with(r#"resource_id="api://we\"ird\\id""#),
        "{answer:?}"
    );
    assert_eq!(
        answer.challenge.unwrap().resource_id.as_deref(),
        Some(weird)
    );
}

#[tokio::test]
async fn unreachable_keys_are_a_500_without_internals() {
    // An authority that is not listening: nothing cached, nothing to fetch.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let key = TestKey::new("k1");
    let api = Api::start(&format!("http://{address}/{TID}")).await;
    let authority_for_claims = Authority::start(&[]).await;
    let token = key.token(&authority_for_claims, json!({}));
    let answer = api.bearer("/api/read", &token).await;
    assert_eq!(answer.status, 500);
    assert!(answer.www_authenticate.is_none());
    assert_eq!(
        answer.body,
        r#"{"error":"server_error","error_description":"An internal error has occurred at the service. Retry the request."}"#
    );
}
