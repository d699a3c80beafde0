//! User assignment (Azure AD's "assignment required"): Contoso HR admits
//! Frank alone. Anyone else gets AADSTS50105 once their credentials check
//! out (every factor) and before consent is looked at: HTTP 403 at the
//! token endpoint (the seed's "the user does not have permission"),
//! `access_denied` at the client's redirect URI from the authorize
//! endpoint. A change of assignment holds at the next token request.

use std::time::Duration;

use latchkey_server::directory::parse_directory;
use latchkey_server::store::{DirectoryStore, SqliteStore};

use crate::device_code::enter_code_and_sign_in;
use crate::harness::*;

const HR: &str = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b";
const HR_SECRET: &str = "hr-secret-0123456789-abcdefghijklmnopq";
const HR_CALLBACK: &str = "https://hr.contoso.example/signin";
/// The fixture's line that assigns Frank to Contoso HR.
const FRANK_ASSIGNED: &str = "assigned_users = [\"frank@contoso.example\"]";

/// AADSTS50105's message at Contoso HR, as Azure AD words it (without
/// the user, whom Azure AD hides too).
fn not_assigned() -> String {
    format!("The signed in user is not assigned to a role for the application '{HR}'(Contoso HR).")
}

fn hr_password<'a>(user: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "password"),
        ("client_id", HR),
        ("client_secret", HR_SECRET),
        ("username", user),
        ("password", password),
        ("resource", FILES),
    ]
}

#[tokio::test]
async fn an_assigned_user_gets_tokens() {
    let server = TestServer::start().await;
    let response = server
        .token(
            TENANT,
            &hr_password("frank@contoso.example", "frank-password"),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], "frank@contoso.example");
    assert_eq!(access["scp"], "Files.Read");
    assert!(body["refresh_token"].is_string());
}

#[tokio::test]
async fn a_user_not_assigned_is_403_in_the_seeds_document() {
    let server = TestServer::start().await;
    let correlation = "6b3474d8-233e-463f-b0a3-86433d8ba889";
    let response = server
        .token_with(
            TENANT,
            &hr_password("Ivan@Contoso.example", "ivan-password"),
            |r| r.header("client-request-id", correlation),
        )
        .await;
    let headers = response.headers().clone();
    let message = not_assigned();
    let mut expected = Expected::new(403, "invalid_grant", 50105, &message);
    expected.correlation_id = Some(correlation);
    assert_token_error(response, expected).await;
    assert_eq!(headers["pragma"], "no-cache");
    assert!(
        headers.get("www-authenticate").is_none() && headers.get("retry-after").is_none(),
        "{headers:?}"
    );

    // On the wire: the status line, and the seed's six fields in order.
    let body = form(&hr_password("ivan@contoso.example", "ivan-password"));
    let request = format!(
        "POST /{TENANT}/oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let raw = server.raw(request.as_bytes()).await;
    raw.assert_token_error(403, "invalid_grant", 50105, &not_assigned());
    let at = |field: &str| raw.body.find(&format!("\"{field}\":")).unwrap();
    let fields = [
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    ];
    assert!(
        fields.windows(2).all(|w| at(w[0]) < at(w[1])),
        "{}",
        raw.body
    );
    assert_eq!(raw.header("cache-control"), Some("no-store"));

    // The v2.0 endpoint answers the same.
    let response = server
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "password"),
            ("client_id", HR),
            ("client_secret", HR_SECRET),
            ("username", "ivan@contoso.example"),
            ("password", "ivan-password"),
            ("scope", "https://files.contoso.example/Files.Read"),
        ]))
        .send()
        .await
        .unwrap();
    assert_token_error(
        response,
        Expected::new(403, "invalid_grant", 50105, &not_assigned()),
    )
    .await;
}

#[tokio::test]
async fn assignment_comes_after_the_credentials_and_before_consent() {
    let server = TestServer::start().await;
    // Nora has consented to nothing: assignment is what she is told.
    let response = server
        .token(
            TENANT,
            &hr_password("nora@contoso.example", "nora-password"),
        )
        .await;
    assert_token_error(
        response,
        Expected::new(403, "invalid_grant", 50105, &not_assigned()),
    )
    .await;
    // A wrong password tells nothing about assignment.
    let response = server
        .token(TENANT, &hr_password("ivan@contoso.example", "wrong"))
        .await;
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
    // Mia has a second factor, which a password grant cannot pass: the
    // sign-in is not complete, so it is that she is told.
    let response = server
        .token(TENANT, &hr_password("mia@contoso.example", "mia-password"))
        .await;
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["error_codes"], serde_json::json!([50076]));
    // An app that does not require assignment treats Nora as before.
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("username", "nora@contoso.example"),
                ("password", "nora-password"),
                ("resource", FILES),
            ],
        )
        .await;
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        doc["error_codes"],
        serde_json::json!([65001]),
        "Contoso Web asks Nora for consent, not assignment"
    );
}

/// Writes `directory` (the fixture or a variant), with `assigned` as
/// Contoso HR's assignment line, into the running server's store, and
/// waits until the server serves it (it re-reads the store every
/// `key_reload_interval`).
async fn reassign(server: &TestServer, directory: &str, assigned: &str, frank_admitted: bool) {
    assert!(directory.contains(FRANK_ASSIGNED));
    let text = directory.replacen(FRANK_ASSIGNED, assigned, 1);
    let store = SqliteStore::open(&server.db_path).await.unwrap();
    store
        .apply_directory(&parse_directory(&text).unwrap().directory)
        .await
        .unwrap();
    for _ in 0..100 {
        let response = server
            .token(
                TENANT,
                &hr_password("frank@contoso.example", "frank-password"),
            )
            .await;
        if (response.status() == 200) == frank_admitted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never served the new assignment");
}

#[tokio::test]
async fn unassigned_later_refresh_and_code_are_403_and_spend_nothing() {
    // Strict rotation: a refresh token rotated by a refused request would
    // not work again.
    let directory = contoso_with("refresh_token_reuse_seconds = 0");
    let server = TestServer::start_with_directory(&directory, |c| {
        c.key_reload_interval = Duration::from_millis(50)
    })
    .await;
    // While Frank is assigned: a refresh token, and a code not yet redeemed.
    let response = server
        .token(
            TENANT,
            &hr_password("frank@contoso.example", "frank-password"),
        )
        .await;
    let body: serde_json::Value = response.json().await.unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", HR),
            ("redirect_uri", HR_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
        ],
    );
    let outcome = server
        .sign_in(&b, &url, "frank@contoso.example", "frank-password")
        .await;
    let code = outcome.delivered()["code"].clone();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", HR),
        ("client_secret", HR_SECRET),
        ("refresh_token", refresh_token.as_str()),
    ];
    let redeem = [
        ("grant_type", "authorization_code"),
        ("client_id", HR),
        ("client_secret", HR_SECRET),
        ("code", code.as_str()),
        ("redirect_uri", HR_CALLBACK),
    ];

    reassign(&server, &directory, "assigned_users = []", false).await;
    let message = not_assigned();
    assert_token_error(
        server.token(TENANT, &refresh).await,
        Expected::new(403, "invalid_grant", 50105, &message),
    )
    .await;
    assert_token_error(
        server.token(TENANT, &redeem).await,
        Expected::new(403, "invalid_grant", 50105, &message),
    )
    .await;
    // Signed in already, Frank is not given a code either.
    let outcome = server.open(&b, &url).await;
    assert_eq!(outcome.delivered()["error"], "access_denied");

    // Assigned again: the same refresh token and the same code work, as
    // neither was spent by the refusals.
    reassign(&server, &directory, FRANK_ASSIGNED, true).await;
    let response = server.token(TENANT, &refresh).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["upn"],
        "frank@contoso.example"
    );
    assert_eq!(server.token(TENANT, &redeem).await.status(), 200);
}

#[tokio::test]
async fn the_authorize_endpoint_answers_access_denied_before_consent() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", HR),
            ("redirect_uri", HR_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "keep-me"),
        ],
    );
    // Nora has not consented: without assignment she would see the
    // consent page; she is sent back to the client instead, with no code.
    let outcome = server
        .sign_in(&b, &url, "nora@contoso.example", "nora-password")
        .await;
    let Outcome::Redirect { location, params } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        location.starts_with(&format!("{HR_CALLBACK}?error=access_denied&")),
        "{location}"
    );
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "keep-me");
    let description = &params["error_description"];
    assert!(
        description.starts_with(&format!("AADSTS50105: {}\r\nTrace ID: ", not_assigned())),
        "{description}"
    );
    assert_eq!(
        params.len(),
        3,
        "error, error_description, state: {params:?}"
    );
    // prompt=none is told the same.
    let silent = server.open(&b, &format!("{url}&prompt=none")).await;
    assert_eq!(silent.delivered()["error"], "access_denied");

    // A consent form from an app that admits her, posted for Contoso HR,
    // does not get round it (nor store a consent).
    let web = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", "http://localhost:5000/callback"),
            ("response_type", "code"),
            ("resource", FILES),
        ],
    );
    let consent = server.open(&b, &web).await;
    assert!(consent.page().contains("id=\"consent\""), "{consent:?}");
    let action =
        unescape(between(consent.page(), "<form method=\"post\" action=\"", "\"").unwrap());
    let mut fields = hidden_fields(consent.page());
    for (name, value) in &mut fields {
        match name.as_str() {
            "client_id" => *value = HR.to_owned(),
            "redirect_uri" => *value = HR_CALLBACK.to_owned(),
            _ => {}
        }
    }
    fields.push(("consent".to_owned(), "accept".to_owned()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = b
        .post(format!("{}{action}", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs))
        .send()
        .await
        .unwrap();
    let outcome = Outcome::read(response).await;
    let Outcome::Redirect { location, params } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(location.starts_with(HR_CALLBACK), "{location}");
    assert_eq!(params["error"], "access_denied");
    assert!(!params.contains_key("code"));

    // Frank is assigned (and has consented): a code.
    let b = server.browser();
    let outcome = server
        .sign_in(&b, &url, "frank@contoso.example", "frank-password")
        .await;
    assert!(outcome.delivered().contains_key("code"), "{outcome:?}");
}

#[tokio::test]
async fn at_the_authorize_endpoint_every_factor_comes_first() {
    let server = TestServer::start().await;
    let b = server.browser();
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", HR),
            ("redirect_uri", HR_CALLBACK),
            ("response_type", "code"),
            ("resource", FILES),
        ],
    );
    let mfa = server
        .sign_in(&b, &url, "mia@contoso.example", "mia-password")
        .await;
    assert!(mfa.page().contains("id=\"mfa\""), "{mfa:?}");
    let totp = crate::harness::totp("JBSWY3DPEHPK3PXP");
    let posted = server
        .submit(
            &b,
            mfa.page(),
            &[("otp", &totp.generate_current().unwrap())],
        )
        .await;
    let Outcome::SeeOther { location, .. } = posted else {
        panic!("{posted:?}")
    };
    let outcome = server.open(&b, &location).await;
    let delivered = outcome.delivered();
    assert_eq!(delivered["error"], "access_denied");
    assert!(
        delivered["error_description"].starts_with(&format!("AADSTS50105: {}", not_assigned()))
    );
}

#[tokio::test]
async fn a_device_whose_person_is_not_assigned_is_told_so_at_its_next_poll() {
    let server = TestServer::start().await;
    let response = server
        .http
        .post(format!("{}/{TENANT}/oauth2/devicecode", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("client_id", HR), ("resource", FILES)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let device: serde_json::Value = response.json().await.unwrap();
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", HR),
        ("client_secret", HR_SECRET),
        ("device_code", device["device_code"].as_str().unwrap()),
    ];
    let first = server.token(TENANT, &poll).await;
    let doc: serde_json::Value = first.json().await.unwrap();
    assert_eq!(doc["error"], "authorization_pending");
    // Ivan signs in at the device login page: the error page, before
    // consent, and no approval.
    let b = server.browser();
    let page = enter_code_and_sign_in(
        &server,
        &b,
        device["user_code"].as_str().unwrap(),
        "ivan@contoso.example",
        "ivan-password",
    )
    .await;
    let Outcome::Page { html, headers, .. } = &page else {
        panic!("{page:?}")
    };
    assert!(!headers.contains_key("location"));
    let shown = error_page_document(html);
    assert_eq!(shown["error"], "access_denied");
    assert_eq!(shown["error_codes"], serde_json::json!([50105]));
    // The device learns why at once, not by expiry; and again, unchanged.
    let message = not_assigned();
    for _ in 0..2 {
        assert_token_error(
            server.token(TENANT, &poll).await,
            Expected::new(403, "invalid_grant", 50105, &message),
        )
        .await;
    }
}

#[tokio::test]
async fn an_on_behalf_of_exchange_for_a_user_the_middle_tier_does_not_admit_is_403() {
    // The fixture's middle-tier API app, requiring assignment of Petra
    // alone: Ben's token to it (from Contoso Todo Native, which admits
    // anyone) cannot be exchanged, though he consented to what it asks.
    const TODO_API: &str = "7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a";
    let fixture = include_str!("../../../../tests/fixtures/directory.toml");
    let line = "  grant_types = [\"on_behalf_of\", \"refresh_token\"]\n";
    assert_eq!(fixture.matches(line).count(), 1);
    let directory = fixture.replacen(
        line,
        &format!(
            "{line}  assignment_required = true\n  assigned_users = [\"petra@contoso.example\"]\n"
        ),
        1,
    );
    let server = TestServer::start_with_directory(&directory, |_| {}).await;
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"),
                ("username", "ben@contoso.example"),
                ("password", "ben-password"),
                ("resource", "api://todo.contoso.example"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let assertion = body["access_token"].as_str().unwrap();
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("client_id", TODO_API),
                ("client_secret", "todo-api-secret-0123456789-abcdefghijk"),
                ("requested_token_use", "on_behalf_of"),
                ("assertion", assertion),
                ("resource", "https://graph.contoso.example/"),
            ],
        )
        .await;
    assert_token_error(
        response,
        Expected::new(
            403,
            "invalid_grant",
            50105,
            &format!(
                "The signed in user is not assigned to a role for the application '{TODO_API}'(Contoso Todo API)."
            ),
        ),
    )
    .await;
}
