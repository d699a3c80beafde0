//! Credentials under attack: the lockout of a user name after failed
//! passwords and second-factor codes (the password grant and the pages
//! alike), a TOTP code used once, the password grant answering nothing
//! before the password is verified, and the per-address rate of password
//! checks.

use std::time::Duration;

use latchkey_server::Clock;

use crate::harness::*;

const LOCKED: &str = "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.";
const WRONG: &str = "Error validating credentials due to invalid username or password.";

/// A server whose clock the test moves, with no per-address limit in the
/// way of the lockout.
async fn server_with_clock() -> (TestServer, Clock) {
    let clock = Clock::adjustable();
    let server = TestServer::start_with(|c| {
        c.clock = clock.clone();
        c.password_checks_per_ip_burst = 10_000;
    })
    .await;
    (server, clock)
}

async fn password_grant(server: &TestServer, user: &str, password: &str) -> reqwest::Response {
    server
        .token(
            TENANT,
            &[
                ("grant_type", "password"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("username", user),
                ("password", password),
                ("resource", FILES),
            ],
        )
        .await
}

/// Every byte but the timestamp, which follows the server's moved clock.
async fn assert_refused(
    response: reqwest::Response,
    status: u16,
    error: &str,
    number: u32,
    message: &str,
) {
    assert_eq!(response.status(), status);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["error"], error);
    assert_eq!(doc["error_codes"], serde_json::json!([number]));
    let description = doc["error_description"].as_str().unwrap();
    let expected = format!(
        "AADSTS{number}: {message}\r\nTrace ID: {}\r\n",
        doc["trace_id"].as_str().unwrap()
    );
    assert!(description.starts_with(&expected), "{description}");
}

async fn fail_passwords(server: &TestServer, user: &str, times: usize) {
    for _ in 0..times {
        let response = password_grant(server, user, "not-the-password").await;
        assert_refused(response, 400, "invalid_grant", 50126, WRONG).await;
    }
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_name_and_the_lockout_grows() {
    let (server, clock) = server_with_clock().await;
    fail_passwords(&server, "nora@contoso.example", 10).await;
    // Locked: the right password gets the lockout, not a token (and no
    // hash is computed, so the answer says nothing about the password).
    let response = password_grant(&server, "nora@contoso.example", "nora-password").await;
    assert_token_error(response, Expected::new(400, "invalid_grant", 50053, LOCKED)).await;
    let response = password_grant(&server, "NORA@contoso.example", "wrong").await;
    assert_token_error(response, Expected::new(400, "invalid_grant", 50053, LOCKED)).await;

    // After 60 s the name opens again; ten more failures lock it for 120 s.
    clock.advance(Duration::from_secs(61));
    fail_passwords(&server, "nora@contoso.example", 10).await;
    clock.advance(Duration::from_secs(61));
    let response = password_grant(&server, "nora@contoso.example", "nora-password").await;
    assert_refused(response, 400, "invalid_grant", 50053, LOCKED).await;
    clock.advance(Duration::from_secs(60));
    let response = password_grant(&server, "nora@contoso.example", "nora-password").await;
    assert_eq!(
        response.status(),
        400,
        "Nora has not consented: 65001, past the password"
    );
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["error_codes"], serde_json::json!([65001]));
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_count() {
    let (server, _clock) = server_with_clock().await;
    fail_passwords(&server, "frank@contoso.example", 9).await;
    let response = password_grant(&server, "frank@contoso.example", "frank-password").await;
    assert_eq!(response.status(), 200);
    fail_passwords(&server, "frank@contoso.example", 9).await;
    let response = password_grant(&server, "frank@contoso.example", "frank-password").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_names_lock_like_known_ones() {
    let (server, _clock) = server_with_clock().await;
    fail_passwords(&server, "nobody@contoso.example", 10).await;
    let response = password_grant(&server, "nobody@contoso.example", "x").await;
    assert_token_error(response, Expected::new(400, "invalid_grant", 50053, LOCKED)).await;
}

#[tokio::test]
async fn the_password_grant_tells_a_second_factor_only_to_who_knows_the_password() {
    let (server, _clock) = server_with_clock().await;
    let mfa = "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://files.contoso.example/'.";
    // A wrong password reads as for anyone.
    fail_passwords(&server, "mia@contoso.example", 1).await;
    // The right one is told what follows; but it completes no sign-in, so
    // the failures before it still count.
    let response = password_grant(&server, "mia@contoso.example", "mia-password").await;
    assert_token_error(
        response,
        Expected::new(400, "interaction_required", 50076, mfa),
    )
    .await;
    fail_passwords(&server, "mia@contoso.example", 9).await;
    // Locked: now even the right password learns nothing.
    let response = password_grant(&server, "mia@contoso.example", "mia-password").await;
    assert_token_error(response, Expected::new(400, "invalid_grant", 50053, LOCKED)).await;
}

#[tokio::test]
async fn password_checks_are_rate_limited_per_client_address() {
    let server = TestServer::start_with(|c| {
        c.password_checks_per_ip_burst = 3;
        c.password_check_interval_per_ip = Duration::from_secs(3600);
    })
    .await;
    for user in [
        "a@contoso.example",
        "b@contoso.example",
        "c@contoso.example",
    ] {
        let response = password_grant(&server, user, "guess").await;
        assert_token_error(response, Expected::new(400, "invalid_grant", 50126, WRONG)).await;
    }
    let response = password_grant(&server, "frank@contoso.example", "frank-password").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3601).contains(&retry_after), "{retry_after}");
    assert_token_error(
        response,
        Expected::new(
            503,
            "temporarily_unavailable",
            90055,
            "There are too many sign-in attempts from this client address. Please try again later.",
        ),
    )
    .await;
    // Other work from the address is not limited.
    let response = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("resource", FILES),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

fn totp() -> totp_rs::TOTP {
    crate::harness::totp(MIA_TOTP)
}

/// A six-digit code that is none of the codes valid around `now`.
fn wrong_code(now: u64) -> String {
    let totp = totp();
    let valid: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp.generate(*t))
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !valid.contains(c))
        .unwrap()
}

fn authorize_url(server: &TestServer) -> String {
    server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", "http://localhost:5000/callback"),
            ("response_type", "code"),
            ("resource", FILES),
            ("state", "s"),
        ],
    )
}

/// Mia signed in with her password in a new browser: the second-factor page.
async fn mia_at_second_factor(server: &TestServer) -> (reqwest::Client, Outcome) {
    let b = server.browser();
    let mfa = server
        .sign_in(
            &b,
            &authorize_url(server),
            "mia@contoso.example",
            "mia-password",
        )
        .await;
    assert!(mfa.page().contains("id=\"mfa\""), "{mfa:?}");
    (b, mfa)
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_second_factor() {
    let (server, clock) = server_with_clock().await;
    let now = clock.now().unix_timestamp() as u64;
    let (b, mut page) = mia_at_second_factor(&server).await;
    for _ in 0..10 {
        page = server
            .submit(&b, page.page(), &[("otp", &wrong_code(now))])
            .await;
        assert!(page.page().contains("That code is not right"), "{page:?}");
    }
    let right = totp().generate(now);
    let locked = server.submit(&b, page.page(), &[("otp", &right)]).await;
    assert!(
        locked
            .page()
            .contains(&format!("AADSTS50053: {}", html_escaped(LOCKED))),
        "{locked:?}"
    );
    // The password page is locked for Mia too.
    let b2 = server.browser();
    let signin = server.open(&b2, &authorize_url(&server)).await;
    let refused = server
        .submit(
            &b2,
            signin.page(),
            &[
                ("username", "mia@contoso.example"),
                ("password", "mia-password"),
            ],
        )
        .await;
    assert!(refused.page().contains("AADSTS50053: "), "{refused:?}");
    assert!(refused.page().contains("id=\"signin\""));
}

#[tokio::test]
async fn a_totp_code_is_accepted_once() {
    let server = TestServer::start().await;
    let (b, mfa) = mia_at_second_factor(&server).await;
    let code = totp().generate_current().unwrap();
    let passed = server.submit(&b, mfa.page(), &[("otp", &code)]).await;
    assert!(matches!(passed, Outcome::SeeOther { .. }), "{passed:?}");
    // Someone who watched the code type it in another browser.
    let (b2, mfa2) = mia_at_second_factor(&server).await;
    let replayed = server.submit(&b2, mfa2.page(), &[("otp", &code)]).await;
    assert!(
        replayed.page().contains("That code is not right"),
        "{replayed:?}"
    );
}

#[tokio::test]
async fn wrong_passwords_on_the_sign_in_page_lock_the_name() {
    let (server, _clock) = server_with_clock().await;
    let b = server.browser();
    let mut page = server.open(&b, &authorize_url(&server)).await;
    for _ in 0..10 {
        page = server
            .submit(
                &b,
                page.page(),
                &[("username", "frank@contoso.example"), ("password", "guess")],
            )
            .await;
        assert!(
            page.page()
                .contains("Your account or password is incorrect."),
            "{page:?}"
        );
    }
    let locked = server
        .submit(
            &b,
            page.page(),
            &[
                ("username", "frank@contoso.example"),
                ("password", "frank-password"),
            ],
        )
        .await;
    assert!(
        locked
            .page()
            .contains(&format!("AADSTS50053: {}", html_escaped(LOCKED))),
        "{locked:?}"
    );
    // The grant agrees: the lockout is the user name's, wherever it was earned.
    let response = password_grant(&server, "frank@contoso.example", "frank-password").await;
    assert_token_error(response, Expected::new(400, "invalid_grant", 50053, LOCKED)).await;
}

/// The text as the pages' templates escape it.
fn html_escaped(text: &str) -> String {
    text.replace('\'', "&#x27;")
}

/// `guesses` password grants at once, each its own task: their answers'
/// statuses, `Retry-After` presence and AADSTS numbers.
async fn at_once(server: &TestServer, guesses: Vec<(String, String)>) -> Vec<(u16, bool, u64)> {
    let tasks: Vec<_> = guesses
        .into_iter()
        .map(|(user, password)| {
            let (http, url) = (server.http.clone(), server.token_url(TENANT));
            tokio::spawn(async move {
                let body = form(&[
                    ("grant_type", "password"),
                    ("client_id", WEB),
                    ("client_secret", WEB_SECRET),
                    ("username", &user),
                    ("password", &password),
                    ("resource", FILES),
                ]);
                let response = http
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let doc: serde_json::Value = response.json().await.unwrap();
                (status, retry_after, doc["error_codes"][0].as_u64().unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_cannot_outrun_the_lockout() {
    let (server, _clock) = server_with_clock().await;
    let guesses = (0..30)
        .map(|i| ("nora@contoso.example".to_owned(), format!("guess-{i}")))
        .collect();
    let answers = at_once(&server, guesses).await;
    // Ten were checked (the tenth locked the name); twenty were refused
    // without a hash.
    let count = |n: u64| answers.iter().filter(|a| a.2 == n).count();
    assert_eq!((count(50126), count(50053)), (10, 20), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_past_the_queue_are_refused_at_once() {
    // One hash at a time, eight waiting: forty guesses at once cannot all
    // wait (each waiting one would hold an in-flight permit other requests
    // need); the rest are refused at once, with Retry-After.
    let server = TestServer::start_with(|c| {
        c.password_checks_per_ip_burst = 10_000;
        c.max_concurrent_password_hashes = 1;
    })
    .await;
    let guesses = (0..40)
        .map(|i| (format!("guess{i}@contoso.example"), "wrong".to_owned()))
        .collect();
    let answers = at_once(&server, guesses).await;
    let refused = answers.iter().filter(|a| **a == (503, true, 90055)).count();
    let checked = answers
        .iter()
        .filter(|a| **a == (400, false, 50126))
        .count();
    assert!(
        refused > 0,
        "past the queue, checks are refused: {answers:?}"
    );
    assert_eq!(refused + checked, 40, "{answers:?}");
}
