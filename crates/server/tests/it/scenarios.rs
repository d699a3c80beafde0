//! Error scenarios: each seed error, injected, reads exactly like the real
//! one; `times` and `probability` hold; the admin API answers only its key.

use crate::harness::*;
use serde_json::json;

const ADMIN_KEY: &str = "admin-key-0123456789abcdef";
const WEB_CALLBACK: &str = "http://localhost:5000/callback";

async fn admin_server() -> TestServer {
    TestServer::start_with(|c| {
        c.admin_key = Some(ADMIN_KEY.into());
        c.scenario_seed = Some(7);
    })
    .await
}

async fn add(server: &TestServer, scenario: serde_json::Value) -> reqwest::Response {
    server
        .http
        .post(format!("{}/_admin/scenarios", server.base))
        .bearer_auth(ADMIN_KEY)
        .json(&scenario)
        .send()
        .await
        .unwrap()
}

fn client_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
        ("resource", FILES),
    ]
}

#[tokio::test]
async fn every_token_error_from_a_scenario_reads_like_the_real_one() {
    let server = admin_server().await;
    let unknown_resource = format!(
        "The resource principal named {FILES} was not found in the tenant named {TENANT}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
    );
    let cases: Vec<(&str, u16, u32, String)> = vec![
        (
            "invalid_request",
            400,
            9002313,
            "Invalid request. Request is malformed or invalid.".into(),
        ),
        (
            "unauthorized_client",
            400,
            70000,
            format!(
                "The application '{WEB}' is not allowed to use the grant type 'client_credentials'."
            ),
        ),
        (
            "invalid_client",
            401,
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{WEB}'."
            ),
        ),
        (
            "unsupported_grant_type",
            400,
            70003,
            "The app requested an unsupported grant type 'client_credentials'.".into(),
        ),
        ("invalid_resource", 400, 500011, unknown_resource),
        (
            "invalid_grant",
            400,
            70000,
            "Provided grant is invalid or malformed.".into(),
        ),
        (
            "interaction_required",
            400,
            50076,
            format!(
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{FILES}'."
            ),
        ),
        (
            "invalid_scope",
            400,
            70011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {FILES} is not valid."
            ),
        ),
        (
            "temporarily_unavailable",
            503,
            90055,
            "The server is temporarily too busy to handle the request. Please try again later."
                .into(),
        ),
        (
            "server_error",
            500,
            50000,
            "There was an error issuing a token or an issue with our sign-in service.".into(),
        ),
    ];
    for (error, status, aadsts, message) in cases {
        let added = add(
            &server,
            json!({"tenant": "contoso.example", "endpoint": "token", "error": error, "times": 1}),
        )
        .await;
        assert_eq!(added.status(), 201, "{error}");
        let response = server.token(TENANT, &client_credentials()).await;
        if error == "temporarily_unavailable" {
            assert_eq!(
                response.headers()["retry-after"],
                "1",
                "like the real overload"
            );
        }
        assert_token_error(response, Expected::new(status, error, aadsts, &message)).await;
        // Once: the next request is served normally.
        assert_eq!(
            server.token(TENANT, &client_credentials()).await.status(),
            200,
            "{error}"
        );
    }
}

#[tokio::test]
async fn match_keys_retry_after_and_delay() {
    let server = admin_server().await;
    add(&server, json!({"tenant": TENANT, "endpoint": "token", "error": "temporarily_unavailable", "grant_type": "password", "retry_after": 7, "delay_ms": 300})).await;
    // Another grant is untouched.
    assert_eq!(
        server.token(TENANT, &client_credentials()).await.status(),
        200
    );
    let started = std::time::Instant::now();
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
            ],
        )
        .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
}

#[tokio::test]
async fn interaction_required_on_the_password_grant_is_a_condition() {
    let server = admin_server().await;
    add(&server, json!({"tenant": TENANT, "endpoint": "token", "error": "interaction_required", "upn": "frank@contoso.example"})).await;
    let password = |pw: &'static str| {
        vec![
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "frank@contoso.example"),
            ("password", pw),
            ("resource", FILES),
        ]
    };
    // A wrong password is still a wrong password…
    let response = server.token(TENANT, &password("wrong")).await;
    assert_token_error(
        response,
        Expected::new(
            400,
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        ),
    )
    .await;
    // …and the right one meets a second factor, as for a user who has one.
    let response = server.token(TENANT, &password("frank-password")).await;
    assert_token_error(response, Expected::new(400, "interaction_required", 50076, &format!("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{FILES}'."))).await;
}

#[tokio::test]
async fn invalid_grant_on_a_refresh_really_revokes_the_family() {
    let server = admin_server().await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
                ("resource", FILES),
            ],
        )
        .await;
    let body: serde_json::Value = response.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    add(&server, json!({"tenant": TENANT, "endpoint": "token", "error": "invalid_grant", "grant_type": "refresh_token", "times": 1})).await;
    let revoked = "The provided grant has been revoked. Send a new interactive authorization request for this user and resource.";
    let params = [
        ("grant_type", "refresh_token"),
        ("client_id", CLI),
        ("refresh_token", refresh.as_str()),
    ];
    assert_token_error(
        server.token(TENANT, &params).await,
        Expected::new(400, "invalid_grant", 50173, revoked),
    )
    .await;
    // The scenario is spent, but the family stays revoked: it was real.
    assert_token_error(
        server.token(TENANT, &params).await,
        Expected::new(400, "invalid_grant", 50173, revoked),
    )
    .await;
}

#[tokio::test]
async fn every_authorize_error_from_a_scenario_goes_back_to_the_client() {
    let server = admin_server().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "st&=ate"),
        ],
    );
    let cases = [
        ("invalid_request", 9002313),
        ("unauthorized_client", 70000),
        ("access_denied", 65004),
        ("unsupported_response_type", 70005),
        ("server_error", 50000),
        ("temporarily_unavailable", 90055),
        ("invalid_resource", 500011),
        ("invalid_scope", 70011),
        ("login_required", 50058),
        ("consent_required", 65001),
        ("interaction_required", 50076),
    ];
    for (error, aadsts) in cases {
        assert_eq!(
            add(
                &server,
                json!({"tenant": TENANT, "endpoint": "authorize", "error": error, "times": 1})
            )
            .await
            .status(),
            201
        );
        let outcome = server.open(&b, &url).await;
        let delivered = outcome.delivered();
        assert_eq!(delivered["error"], error);
        assert!(
            delivered["error_description"].starts_with(&format!("AADSTS{aadsts}: ")),
            "{error}: {delivered:?}"
        );
        assert_eq!(delivered["state"], "st&=ate");
    }
    // Spent: the sign-in page again.
    assert!(server.open(&b, &url).await.page().contains("id=\"signin\""));
}

#[tokio::test]
async fn probability_draws_are_reproducible_with_a_seed() {
    let outcomes = || async {
        let server = admin_server().await;
        add(&server, json!({"tenant": TENANT, "endpoint": "token", "error": "server_error", "probability": 0.5})).await;
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(
                server
                    .token(TENANT, &client_credentials())
                    .await
                    .status()
                    .as_u16(),
            );
        }
        statuses
    };
    let first = outcomes().await;
    assert_eq!(first, outcomes().await, "same seed, same answers");
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!((8..=32).contains(&failures), "about half: {failures}");
    assert!(first.iter().all(|s| *s == 200 || *s == 500));
}

#[tokio::test]
async fn the_admin_api_answers_only_its_key_and_is_absent_without_one() {
    let plain = TestServer::start().await;
    let response = plain
        .http
        .get(format!("{}/_admin/scenarios", plain.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let server = admin_server().await;
    let url = format!("{}/_admin/scenarios", server.base);
    for key in [None, Some("wrong-key"), Some("")] {
        let mut request = server.http.get(&url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{key:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"latchkey-admin\""
        );
    }
    // Two Authorization headers, the right key among them: neither counts.
    let twice = server
        .http
        .get(&url)
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .header("authorization", "Bearer wrong-key")
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    let body: serde_json::Value = twice.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_request", "message": "the admin API takes one 'Authorization' header"})
    );
    let refused = add(
        &server,
        json!({"tenant": TENANT, "endpoint": "token", "error": "access_denied"}),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["message"],
        "'access_denied' is not an error of the token endpoint"
    );
    assert_eq!(
        add(
            &server,
            json!({"tenant": "nowhere.example", "endpoint": "token", "error": "server_error"})
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        add(
            &server,
            json!({"tenant": TENANT, "endpoint": "token", "error": "server_error", "colour": "red"})
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        add(
            &server,
            json!({"tenant": TENANT, "endpoint": "token", "error": "server_error"})
        )
        .await
        .status(),
        201
    );
    let list: serde_json::Value = server
        .http
        .get(&url)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["scenarios"][0]["error"], "server_error");
    assert_eq!(list["scenarios"][0]["tenant"], TENANT);
    let cleared: serde_json::Value = server
        .http
        .delete(&url)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["removed"], 1);
    assert_eq!(
        server.token(TENANT, &client_credentials()).await.status(),
        200
    );
}

#[tokio::test]
async fn scenarios_from_the_directory_file_are_in_force_at_start() {
    let data = latchkey_server::directory::parse_directory(&format!(
        r#"
[[tenants]]
id = "{TENANT}"
  [[tenants.scenarios]]
  endpoint = "token"
  client_id = "{WEB}"
  grant_type = "client_credentials"
  error = "temporarily_unavailable"
  times = 2
  retry_after = 1
"#
    ))
    .unwrap();
    let server = TestServer::start_with(|c| c.scenarios = data.scenarios.clone()).await;
    for _ in 0..2 {
        let response = server.token(TENANT, &client_credentials()).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
    }
    assert_eq!(
        server.token(TENANT, &client_credentials()).await.status(),
        200
    );
    let bad = latchkey_server::directory::parse_directory(&format!(
        "[[tenants]]\nid = \"{TENANT}\"\n  [[tenants.scenarios]]\n  endpoint = \"token\"\n  error = \"login_required\"\n"
    ));
    assert_eq!(
        bad.unwrap_err().to_string(),
        "tenants[0].scenarios[0]: 'login_required' is not an error of the token endpoint"
    );
}
