//! The claims challenge (issue 16): an API whose tenant requires a second
//! factor (`require_mfa`) answers a password-only sign-in, at every grant,
//! with `interaction_required` and the claims request to authorize again
//! with; the authorization endpoint, given those claims (or asked for that
//! API), runs the second factor; its tokens carry `amr` with `mfa` and
//! satisfy the policy, at sign-in and at every refresh.

use std::time::Duration;

use latchkey_server::Clock;
use serde_json::Value;

use crate::harness::*;

const PORTAL: &str = "c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607";
const PORTAL_SECRET: &str = "payroll-secret-0123456789-abcdefghijk";
const REDIRECT: &str = "http://localhost:5100/callback";
const PAYROLL: &str = "https://payroll.contoso.example/";
const QUINN: &str = "quinn@contoso.example";
const QUINN_PASSWORD: &str = "quinn-password";
/// RFC 6238's test secret, Quinn's second factor.
const QUINN_TOTP: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// The claims request for Payroll's policy, byte for byte: its id is the
/// name-based GUID of the tenant and the App ID URI.
const PAYROLL_CLAIMS: &str = r#"{"access_token":{"capolids":{"essential":true,"values":["e35f82e6-48bf-5811-a2f8-feec095a2164"]}}}"#;
/// What an API asks when a route needs a second factor.
const AMR_MFA: &str = r#"{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}"#;
const MFA_MESSAGE: &str = "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://payroll.contoso.example/'.";

/// Quinn's code at `clock`'s time.
fn totp_at(clock: &Clock) -> String {
    crate::harness::totp(QUINN_TOTP).generate(clock.now().unix_timestamp() as u64)
}

/// A server whose clock the test moves: a TOTP time step is accepted
/// once, so a second sign-in with the second factor waits for the next.
async fn server_with_clock() -> (TestServer, Clock) {
    let clock = Clock::adjustable();
    let server = TestServer::start_with(|c| c.clock = clock.clone()).await;
    (server, clock)
}

async fn password_grant(
    server: &TestServer,
    user: &str,
    password: &str,
    resource: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut params = vec![
        ("grant_type", "password"),
        ("client_id", PORTAL),
        ("client_secret", PORTAL_SECRET),
        ("username", user),
        ("password", password),
        ("resource", resource),
    ];
    params.extend_from_slice(extra);
    server.token(TENANT, &params).await
}

async fn refresh(server: &TestServer, token: &str, resource: &str) -> reqwest::Response {
    server
        .token(
            TENANT,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", PORTAL),
                ("client_secret", PORTAL_SECRET),
                ("refresh_token", token),
                ("resource", resource),
            ],
        )
        .await
}

fn authorize_url(server: &TestServer, resource: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", PORTAL),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("resource", resource),
        ("scope", "openid"),
        ("state", "s"),
    ];
    params.extend_from_slice(extra);
    server.authorize_url(TENANT, &params)
}

/// Quinn signs in on `url`'s pages in a new browser, passing the second
/// factor with `otp` when the page must ask for it (and only then); the
/// code is redeemed and the token response returned.
async fn sign_in_quinn(server: &TestServer, url: &str, otp: Option<String>) -> Value {
    let b = server.browser();
    let mut next = server.sign_in(&b, url, QUINN, QUINN_PASSWORD).await;
    if let Some(otp) = otp {
        assert!(next.page().contains("id=\"mfa\""), "{next:?}");
        let passed = server.submit(&b, next.page(), &[("otp", &otp)]).await;
        let Outcome::SeeOther { location, .. } = passed else {
            panic!("the second factor did not answer 303: {passed:?}")
        };
        next = server.open(&b, &location).await;
    }
    let code = next.delivered()["code"].clone();
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", PORTAL),
                ("client_secret", PORTAL_SECRET),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn amr(jwt: &Value) -> Value {
    claims(jwt.as_str().unwrap())["amr"].clone()
}

#[tokio::test]
async fn a_password_alone_for_an_api_that_requires_mfa_gets_the_claims_to_ask_for_it() {
    let server = TestServer::start().await;
    let response = password_grant(&server, QUINN, QUINN_PASSWORD, PAYROLL, &[]).await;
    assert_token_error(
        response,
        Expected {
            claims: Some(PAYROLL_CLAIMS),
            ..Expected::new(400, "interaction_required", 50076, MFA_MESSAGE)
        },
    )
    .await;
    // The same password lets Quinn into an API without the policy.
    let files = password_grant(&server, QUINN, QUINN_PASSWORD, FILES, &[]).await;
    assert_eq!(files.status(), 200);
    let body: Value = files.json().await.unwrap();
    assert_eq!(amr(&body["access_token"]), serde_json::json!(["pwd"]));
}

#[tokio::test]
async fn a_user_with_no_second_factor_is_told_to_enroll_one() {
    let server = TestServer::start().await;
    let response = password_grant(
        &server,
        "nora@contoso.example",
        "nora-password",
        PAYROLL,
        &[],
    )
    .await;
    assert_token_error(
        response,
        Expected {
            claims: Some(PAYROLL_CLAIMS),
            ..Expected::new(
                400,
                "interaction_required",
                50079,
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access 'https://payroll.contoso.example/'.",
            )
        },
    )
    .await;
    // Nora has nothing to pass a second factor with: the pages say so too.
    let b = server.browser();
    let url = authorize_url(&server, PAYROLL, &[]);
    let refused = server
        .sign_in(&b, &url, "nora@contoso.example", "nora-password")
        .await;
    let params = refused.delivered();
    assert_eq!(params["error"], "interaction_required");
    assert!(
        params["error_description"].starts_with("AADSTS50079: "),
        "{params:?}"
    );
    assert_eq!(params["state"], "s");
}

#[tokio::test]
async fn a_refresh_from_a_password_only_sign_in_keeps_its_amr_and_cannot_reach_the_policy() {
    let server = TestServer::start().await;
    let signed_in = password_grant(
        &server,
        QUINN,
        QUINN_PASSWORD,
        FILES,
        &[("scope", "openid")],
    )
    .await;
    assert_eq!(signed_in.status(), 200);
    let signed_in: Value = signed_in.json().await.unwrap();
    let token = signed_in["refresh_token"].as_str().unwrap();
    // Payroll, by the multi-resource refresh token: the family remembers
    // a password alone.
    let response = refresh(&server, token, PAYROLL).await;
    assert_token_error(
        response,
        Expected {
            claims: Some(PAYROLL_CLAIMS),
            ..Expected::new(400, "interaction_required", 50076, MFA_MESSAGE)
        },
    )
    .await;
    // The refusal spent nothing: the same token refreshes Files, and the
    // refreshed tokens say how the sign-in went.
    let refreshed = refresh(&server, token, FILES).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_eq!(amr(&refreshed["access_token"]), serde_json::json!(["pwd"]));
    assert_eq!(amr(&refreshed["id_token"]), serde_json::json!(["pwd"]));
}

#[tokio::test]
async fn the_claims_passed_back_run_the_second_factor_and_the_tokens_satisfy_the_policy() {
    let (server, clock) = server_with_clock().await;
    // The step-up loop as a client lives it: the token endpoint's claims,
    // passed back unchanged to the authorization endpoint.
    let refused = password_grant(&server, QUINN, QUINN_PASSWORD, PAYROLL, &[]).await;
    let document: Value = refused.json().await.unwrap();
    let claims = document["claims"].as_str().unwrap();
    assert_eq!(claims, PAYROLL_CLAIMS);
    let url = authorize_url(&server, PAYROLL, &[("claims", claims)]);
    let tokens = sign_in_quinn(&server, &url, Some(totp_at(&clock))).await;
    assert_eq!(tokens["resource"], PAYROLL);
    assert_eq!(
        amr(&tokens["access_token"]),
        serde_json::json!(["pwd", "mfa"])
    );
    assert_eq!(amr(&tokens["id_token"]), serde_json::json!(["pwd", "mfa"]));
    verify_with_jwks(&server, tokens["access_token"].as_str().unwrap()).await;
    // The family keeps the second factor: refreshing Payroll satisfies the
    // policy, and so would a refresh for Files.
    let token = tokens["refresh_token"].as_str().unwrap();
    let refreshed = refresh(&server, token, PAYROLL).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_eq!(
        amr(&refreshed["access_token"]),
        serde_json::json!(["pwd", "mfa"])
    );
    assert_eq!(
        amr(&refreshed["id_token"]),
        serde_json::json!(["pwd", "mfa"])
    );
}

#[tokio::test]
async fn an_authorization_request_for_an_api_that_requires_mfa_asks_for_it_directly() {
    let (server, clock) = server_with_clock().await;
    let url = authorize_url(&server, PAYROLL, &[]);
    let tokens = sign_in_quinn(&server, &url, Some(totp_at(&clock))).await;
    assert_eq!(
        amr(&tokens["access_token"]),
        serde_json::json!(["pwd", "mfa"])
    );
}

#[tokio::test]
async fn an_api_s_claims_challenge_asks_for_the_second_factor_on_any_api() {
    let (server, clock) = server_with_clock().await;
    // Files has no policy: a password alone is enough…
    let plain = sign_in_quinn(&server, &authorize_url(&server, FILES, &[]), None).await;
    assert_eq!(amr(&plain["access_token"]), serde_json::json!(["pwd"]));
    // …unless the claims ask for `mfa` in `amr`, as the resource
    // middleware's challenge does; MSAL adds its capabilities alongside.
    let with_capabilities = r#"{"access_token":{"amr":{"essential":true,"values":["mfa"]},"xms_cc":{"values":["cp1"]}}}"#;
    for claims in [AMR_MFA, with_capabilities] {
        let url = authorize_url(&server, FILES, &[("claims", claims)]);
        let tokens = sign_in_quinn(&server, &url, Some(totp_at(&clock))).await;
        assert_eq!(
            amr(&tokens["access_token"]),
            serde_json::json!(["pwd", "mfa"])
        );
        // A TOTP code is accepted once: the next round needs the next one.
        clock.advance(Duration::from_secs(30));
    }
}

#[tokio::test]
async fn claims_that_ask_for_nothing_latchkey_issues_change_nothing() {
    let server = TestServer::start().await;
    let url = authorize_url(
        &server,
        FILES,
        &[(
            "claims",
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#,
        )],
    );
    let tokens = sign_in_quinn(&server, &url, None).await;
    assert_eq!(amr(&tokens["access_token"]), serde_json::json!(["pwd"]));
}

#[tokio::test]
async fn a_silent_request_without_the_second_factor_is_interaction_required() {
    let server = TestServer::start().await;
    let b = server.browser();
    // Signed in with a password, for Files.
    let first = server
        .sign_in(
            &b,
            &authorize_url(&server, FILES, &[]),
            QUINN,
            QUINN_PASSWORD,
        )
        .await;
    assert!(first.delivered().contains_key("code"));
    let silent = server
        .open(&b, &authorize_url(&server, PAYROLL, &[("prompt", "none")]))
        .await;
    let params = silent.delivered();
    assert_eq!(params["error"], "interaction_required");
    assert!(
        params["error_description"]
            .starts_with(&format!("AADSTS50076: {MFA_MESSAGE}\r\nTrace ID: ")),
        "{params:?}"
    );
    // Interactively, the same session is asked for the second factor only.
    let step_up = server.open(&b, &authorize_url(&server, PAYROLL, &[])).await;
    assert!(step_up.page().contains("id=\"mfa\""), "{step_up:?}");
}

#[tokio::test]
async fn a_claims_parameter_that_is_not_a_json_object_is_invalid_request() {
    let server = TestServer::start().await;
    let b = server.browser();
    for claims in ["mfa", "[\"mfa\"]", "{\"access_token\":"] {
        let refused = server
            .open(&b, &authorize_url(&server, FILES, &[("claims", claims)]))
            .await;
        let params = refused.delivered();
        assert_eq!(params["error"], "invalid_request", "{claims}");
        assert!(
            params["error_description"]
                .starts_with("AADSTS90100: claims parameter is empty or not valid.\r\nTrace ID: "),
            "{params:?}"
        );
    }
    let response =
        password_grant(&server, QUINN, QUINN_PASSWORD, FILES, &[("claims", "mfa")]).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_request",
            90100,
            "claims parameter is empty or not valid.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_token_request_s_own_claims_are_held_to_the_sign_in() {
    let server = TestServer::start().await;
    // MSAL sends a claims challenge with its token requests too: a password
    // cannot satisfy `mfa`, so the claims come back to be passed on.
    let response = password_grant(
        &server,
        QUINN,
        QUINN_PASSWORD,
        FILES,
        &[("claims", AMR_MFA)],
    )
    .await;
    assert_token_error(
        response,
        Expected {
            claims: Some(AMR_MFA),
            ..Expected::new(
                400,
                "interaction_required",
                50076,
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://files.contoso.example/'.",
            )
        },
    )
    .await;
}

#[tokio::test]
async fn a_user_whose_second_factor_is_enforced_still_hears_50076_without_claims() {
    // Per-user MFA names no policy: the document is as it always was.
    let server = TestServer::start().await;
    let response =
        password_grant(&server, "mia@contoso.example", "mia-password", PAYROLL, &[]).await;
    assert_token_error(
        response,
        Expected::new(400, "interaction_required", 50076, MFA_MESSAGE),
    )
    .await;
}
