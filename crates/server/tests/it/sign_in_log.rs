//! The sign-in log: a record per token and authorize outcome, found by its
//! ids through the admin API and the admin pages, marked when a scenario
//! injected it, holding no secret, kept across restarts and pruned by its
//! retention; and the store's half of it on both engines.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use latchkey_server::Clock;
use latchkey_server::store::{SignInLogStore, SignInQuery, SignInRecord, SqliteStore, Store};
use serde_json::Value;

use crate::harness::*;
use crate::store::{on_postgres, on_sqlite};

const ADMIN_KEY: &str = "sign-in-log-admin-key-0123456789";

async fn admin_server() -> TestServer {
    TestServer::start_with(|c| c.admin_key = Some(ADMIN_KEY.into())).await
}

/// The admin API's records for `query` (a query string), waiting until
/// there are at least `count` (the log is written off the request path).
async fn sign_ins(server: &TestServer, query: &str, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let response = server
            .http
            .get(format!("{}/_admin/sign-ins?{query}", server.base))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let records = body["value"].as_array().unwrap().clone();
        if records.len() >= count {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {count} sign-ins for '{query}'");
}

/// The web app's authorization request, from a browser with no session.
async fn web_authorize(server: &TestServer) -> reqwest::Response {
    server
        .browser()
        .get(server.authorize_url(
            TENANT,
            &[
                ("client_id", WEB),
                ("redirect_uri", "http://localhost:5000/callback"),
                ("response_type", "code"),
                ("resource", FILES),
            ],
        ))
        .send()
        .await
        .unwrap()
}

/// A client credentials request with a wrong secret: its error document.
async fn failed_token_request(server: &TestServer) -> Value {
    let response = server
        .token_with(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", ROBOT),
                ("client_secret", "not-the-robot-secret-0123456789abcdef"),
                ("resource", FILES),
            ],
            |r| r.header("client-request-id", "5b1f6a0e-3c44-4a7e-9d0e-7c2f1a9b8c7d"),
        )
        .await;
    assert_eq!(response.status(), 401);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_failed_token_request_is_found_by_its_trace_and_correlation_ids() {
    let server = admin_server().await;
    // Noise around it: a success, and another failure of another client.
    let ok = server
        .token(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", ROBOT),
                ("client_secret", ROBOT_SECRET),
                ("resource", FILES),
            ],
        )
        .await;
    assert_eq!(ok.status(), 200);
    let doc = failed_token_request(&server).await;
    let trace_id = doc["trace_id"].as_str().unwrap();
    let correlation_id = doc["correlation_id"].as_str().unwrap();
    assert_eq!(correlation_id, "5b1f6a0e-3c44-4a7e-9d0e-7c2f1a9b8c7d");
    let other = server
        .token(
            TENANT,
            &[("grant_type", "client_credentials"), ("client_id", WEB)],
        )
        .await;
    assert_eq!(other.status(), 401);

    let by_trace = sign_ins(&server, &format!("trace_id={trace_id}"), 1).await;
    assert_eq!(by_trace.len(), 1, "{by_trace:?}");
    let record = &by_trace[0];
    assert_eq!(record["trace_id"], trace_id);
    assert_eq!(record["correlation_id"], correlation_id);
    assert_eq!(record["endpoint"], "token");
    assert_eq!(record["grant"], "client_credentials");
    assert_eq!(record["app"], ROBOT);
    assert_eq!(record["tenant"], TENANT);
    assert_eq!(record["status"], 401);
    assert_eq!(record["outcome"], "failure");
    assert_eq!(record["error"], "invalid_client");
    assert_eq!(record["error_codes"], serde_json::json!([7000215]));
    assert_eq!(record["client_ip"], "127.0.0.1");
    assert_eq!(record["injected"], false);
    let by_correlation = sign_ins(&server, &format!("correlation_id={correlation_id}"), 1).await;
    assert_eq!(by_correlation, by_trace);
    // The other filters narrow the same way.
    let all = sign_ins(&server, "", 3).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0]["app"], WEB, "newest first");
    let failures = sign_ins(&server, &format!("app={ROBOT}&error=AADSTS7000215"), 1).await;
    assert_eq!(failures, by_trace);
    let by_code = sign_ins(&server, "error=invalid_client", 2).await;
    assert_eq!(by_code.len(), 2);
    let one = server
        .http
        .get(format!("{}/_admin/sign-ins/{}", server.base, record["id"]))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    assert_eq!(&one.json::<Value>().await.unwrap(), record);

    // The page for people: the key as Basic's password.
    let page = server
        .http
        .get(format!(
            "{}/_admin/portal/sign-ins?trace_id={trace_id}",
            server.base
        ))
        .basic_auth("admin", Some(ADMIN_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<tr class=\"sign-in ").count(), 1, "{html}");
    assert!(
        html.contains(&format!(
            "<tr class=\"sign-in failure\" data-id=\"{}\" data-trace-id=\"{trace_id}\"",
            record["id"]
        )),
        "{html}"
    );
    let detail = server
        .http
        .get(format!(
            "{}/_admin/portal/sign-ins/{}",
            server.base, record["id"]
        ))
        .basic_auth("", Some(ADMIN_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(detail.status(), 200);
    let html = detail.text().await.unwrap();
    assert!(
        html.contains(
            "<strong id=\"client-action\">the administrator updates the credentials</strong>"
        ),
        "{html}"
    );
}

#[tokio::test]
async fn the_sign_in_log_answers_only_to_the_admin_key() {
    let server = admin_server().await;
    let url = format!("{}/_admin/sign-ins", server.base);
    let none = server.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let basic = server
        .http
        .get(&url)
        .basic_auth("admin", Some(ADMIN_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "the API takes the Bearer key only");
    let page_url = format!("{}/_admin/portal/sign-ins", server.base);
    let page = server.http.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), 401);
    assert_eq!(
        page.headers()["www-authenticate"],
        "Basic realm=\"latchkey-admin\", charset=\"UTF-8\""
    );
    let wrong = server
        .http
        .get(&page_url)
        .basic_auth("admin", Some("not-the-key-0123456789"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let unknown_filter = server
        .http
        .get(format!("{url}?trace=1"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_filter.status(), 400);
    // Without an admin key there is no log to read.
    let plain = TestServer::start().await;
    let absent = plain
        .http
        .get(format!("{}/_admin/sign-ins", plain.base))
        .send()
        .await
        .unwrap();
    assert_eq!(absent.status(), 404);
}

#[tokio::test]
async fn a_scenario_injected_error_is_marked() {
    let server = admin_server().await;
    let added = server
        .http
        .post(format!("{}/_admin/scenarios", server.base))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({
            "tenant": TENANT,
            "endpoint": "token",
            "error": "temporarily_unavailable",
            "client_id": ROBOT,
            "times": 1,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let scenario = added.json::<Value>().await.unwrap()["id"].clone();
    let params = [
        ("grant_type", "client_credentials"),
        ("client_id", ROBOT),
        ("client_secret", ROBOT_SECRET),
        ("resource", FILES),
    ];
    let injected = server.token(TENANT, &params).await;
    assert_eq!(injected.status(), 503);
    let injected: Value = injected.json().await.unwrap();
    let real = server
        .token(
            TENANT,
            &[("grant_type", "client_credentials"), ("client_id", ROBOT)],
        )
        .await;
    let real: Value = real.json().await.unwrap();
    let marked = sign_ins(
        &server,
        &format!("trace_id={}", injected["trace_id"].as_str().unwrap()),
        1,
    )
    .await;
    assert_eq!(marked[0]["injected"], true);
    assert_eq!(marked[0]["scenario"], scenario);
    assert_eq!(marked[0]["error"], "temporarily_unavailable");
    let unmarked = sign_ins(
        &server,
        &format!("trace_id={}", real["trace_id"].as_str().unwrap()),
        1,
    )
    .await;
    assert_eq!(unmarked[0]["injected"], false);
    assert_eq!(unmarked[0]["scenario"], Value::Null);
    // At the authorize endpoint too, where the error is a redirect.
    let added = server
        .http
        .post(format!("{}/_admin/scenarios", server.base))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({
            "tenant": TENANT, "endpoint": "authorize", "error": "access_denied", "times": 1,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let redirect = web_authorize(&server).await;
    assert_eq!(redirect.status(), 302);
    let trace_id = redirect.headers()["x-ms-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let marked = sign_ins(&server, &format!("trace_id={trace_id}"), 1).await;
    assert_eq!(marked[0]["endpoint"], "authorize");
    assert_eq!(marked[0]["error"], "access_denied");
    assert_eq!(marked[0]["injected"], true);
    assert_eq!(marked[0]["app"], WEB);
}

/// Every byte of the SQLite file and its WAL.
fn store_bytes(db_path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db_path).unwrap();
    let mut wal = db_path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(std::path::PathBuf::from(wal)) {
        bytes.extend(more);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_record_holds_a_secret_sent() {
    let server = admin_server().await;
    let mut sent: Vec<String> = vec![
        ROBOT_SECRET.into(),
        WEB_SECRET.into(),
        "frank-password".into(),
    ];
    // Client credentials, right and wrong (Basic and body).
    let wrong_secret = "wrong-secret-9f8e7d6c5b4a39281706abcd".to_owned();
    sent.push(wrong_secret.clone());
    for secret in [ROBOT_SECRET, &wrong_secret] {
        server
            .token(
                TENANT,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", ROBOT),
                    ("client_secret", secret),
                    ("resource", FILES),
                ],
            )
            .await;
        server
            .token_with(
                TENANT,
                &[("grant_type", "client_credentials"), ("resource", FILES)],
                |r| r.basic_auth(ROBOT, Some(secret)),
            )
            .await;
    }
    // The password grant, right and wrong.
    let wrong_password = "wrong-password-5e4d3c2b1a";
    sent.push(wrong_password.into());
    let mut password_refresh = String::new();
    for password in ["frank-password", wrong_password] {
        let response = server
            .token(
                TENANT,
                &[
                    ("grant_type", "password"),
                    ("client_id", WEB),
                    ("client_secret", WEB_SECRET),
                    ("username", "frank@contoso.example"),
                    ("password", password),
                    ("resource", FILES),
                ],
            )
            .await;
        let body: Value = response.json().await.unwrap();
        for field in ["access_token", "refresh_token"] {
            if let Some(token) = body[field].as_str() {
                sent.push(token.to_owned());
            }
        }
        if let Some(token) = body["refresh_token"].as_str() {
            password_refresh = token.to_owned();
        }
    }
    // A code, redeemed twice (the second an error), and its refresh token.
    let b = server.browser();
    let outcome = server
        .sign_in(
            &b,
            &server.authorize_url(
                TENANT,
                &[
                    ("client_id", WEB),
                    ("redirect_uri", "http://localhost:5000/callback"),
                    ("response_type", "code"),
                    ("resource", FILES),
                    ("scope", "Files.Read"),
                    ("state", "s"),
                ],
            ),
            "frank@contoso.example",
            "frank-password",
        )
        .await;
    let code = outcome.delivered()["code"].clone();
    sent.push(code.clone());
    let mut refresh = String::new();
    for _ in 0..2 {
        let response = server
            .token(
                TENANT,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", WEB),
                    ("client_secret", WEB_SECRET),
                    ("code", &code),
                    ("redirect_uri", "http://localhost:5000/callback"),
                ],
            )
            .await;
        let body: Value = response.json().await.unwrap();
        if let Some(token) = body["refresh_token"].as_str() {
            refresh = token.to_owned();
            sent.push(token.to_owned());
            sent.push(body["access_token"].as_str().unwrap().to_owned());
        }
    }
    assert!(!refresh.is_empty());
    // (That second redemption revoked the code's family.) The password
    // grant's refresh token, rotated, then presented with a wrong secret.
    let refresh = password_refresh;
    for secret in [WEB_SECRET, "wrong-web-secret-0123456789abcdef"] {
        sent.push(secret.into());
        let response = server
            .token(
                TENANT,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", WEB),
                    ("client_secret", secret),
                    ("refresh_token", &refresh),
                ],
            )
            .await;
        let body: Value = response.json().await.unwrap();
        if let Some(token) = body["refresh_token"].as_str() {
            sent.push(token.to_owned());
        }
    }
    // A wrong password at the sign-in page.
    let page_password = "typed-at-the-page-7a6b5c4d3e";
    sent.push(page_password.into());
    let b = server.browser();
    let page = server
        .open(
            &b,
            &server.authorize_url(
                TENANT,
                &[
                    ("client_id", WEB),
                    ("redirect_uri", "http://localhost:5000/callback"),
                    ("response_type", "code"),
                    ("resource", FILES),
                ],
            ),
        )
        .await;
    server
        .submit(
            &b,
            page.page(),
            &[
                ("username", "frank@contoso.example"),
                ("password", page_password),
            ],
        )
        .await;

    let records = sign_ins(&server, "limit=1000", 12).await;
    assert_eq!(records.len(), 12, "{records:#?}");
    // The page's refusal, with the name typed; the code, with its user.
    let page_refusal = &records[0];
    assert_eq!(page_refusal["endpoint"], "authorize");
    assert_eq!(page_refusal["error_codes"], serde_json::json!([50126]));
    assert_eq!(page_refusal["user"], "frank@contoso.example");
    assert!(records.iter().any(|r| r["endpoint"] == "authorize"
        && r["outcome"] == "success"
        && r["user"] == "frank@contoso.example"));
    assert!(records.iter().any(|r| r["grant"] == "refresh_token"
        && r["outcome"] == "success"
        && r["user"] == "frank@contoso.example"));
    let text = serde_json::to_string(&records).unwrap();
    let bytes = store_bytes(&server.db_path);
    for secret in &sent {
        assert!(!text.contains(secret.as_str()), "a record holds {secret}");
        assert!(!contains(&bytes, secret), "the store holds {secret}");
    }
}

#[tokio::test]
async fn the_log_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latchkey.db");
    let first = TestServer::start_on(Arc::new(SqliteStore::open(&path).await.unwrap())).await;
    let doc = failed_token_request(&first).await;
    let trace_id = doc["trace_id"].as_str().unwrap().to_owned();
    let store = SqliteStore::open(&path).await.unwrap();
    let query = SignInQuery {
        trace_id: Some(trace_id.clone()),
        limit: 10,
        ..SignInQuery::default()
    };
    for _ in 0..200 {
        if !store.find_sign_ins(&query).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drop(first);
    drop(store);
    let reopened = SqliteStore::open(&path).await.unwrap();
    let found = reopened.find_sign_ins(&query).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].error.as_deref(), Some("invalid_client"));
}

#[tokio::test]
async fn retention_deletes_records_past_their_days_and_rows() {
    let clock = Clock::adjustable();
    let server = TestServer::start_with(|c| {
        c.admin_key = Some(ADMIN_KEY.into());
        c.clock = clock.clone();
        c.key_reload_interval = Duration::from_millis(50);
        c.sign_in_log.max_rows = 3;
    })
    .await;
    for _ in 0..5 {
        failed_token_request(&server).await;
    }
    // The rows: only the newest 3 stay.
    let mut kept = Vec::new();
    for _ in 0..200 {
        kept = sign_ins(&server, "", 1).await;
        if kept.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(kept.len(), 3, "{kept:?}");
    // The days: 30 by default; a day later than that, none.
    clock.advance(Duration::from_secs(29 * 86_400));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sign_ins(&server, "", 1).await.len(), 3);
    clock.advance(Duration::from_secs(2 * 86_400));
    for _ in 0..200 {
        let response = server
            .http
            .get(format!("{}/_admin/sign-ins", server.base))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        if body["value"].as_array().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("records older than the retention were kept");
}

#[tokio::test]
async fn without_the_log_nothing_is_recorded() {
    let server = TestServer::start_with(|c| {
        c.admin_key = Some(ADMIN_KEY.into());
        c.sign_in_log.enabled = false;
    })
    .await;
    failed_token_request(&server).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let response = server
        .http
        .get(format!("{}/_admin/sign-ins", server.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["value"], serde_json::json!([]));
}

#[tokio::test]
async fn discovery_keys_health_and_pages_on_the_way_are_not_logged() {
    let server = admin_server().await;
    for path in [
        format!("/{TENANT}/.well-known/openid-configuration"),
        format!("/{TENANT}/discovery/keys"),
        "/health/live".to_owned(),
        "/health/ready".to_owned(),
        "/error?code=50058".to_owned(),
        "/nowhere".to_owned(),
    ] {
        server
            .http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
    }
    // The sign-in page is a step, not an outcome.
    let page = web_authorize(&server).await;
    assert_eq!(page.status(), 200);
    failed_token_request(&server).await;
    let records = sign_ins(&server, "", 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let records_later = sign_ins(&server, "", 1).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records_later.len(), 1, "{records_later:?}");
    assert_eq!(records[0]["endpoint"], "token");
}

fn record(trace: &str, time: i64, user: &str, error: Option<&str>) -> SignInRecord {
    SignInRecord {
        id: 0,
        time,
        tenant: Some(TENANT.into()),
        endpoint: "token".into(),
        grant: Some("password".into()),
        app: Some(WEB.into()),
        user: Some(user.into()),
        client_ip: Some("127.0.0.1".into()),
        status: if error.is_some() { 400 } else { 200 },
        outcome: if error.is_some() {
            "failure"
        } else {
            "success"
        }
        .into(),
        error: error.map(str::to_owned),
        error_codes: error.map(|_| "50126".to_owned()),
        suberror: None,
        trace_id: trace.into(),
        correlation_id: format!("c-{trace}"),
        scenario: None,
    }
}

/// The store's half, on both engines: a batch in, filters, one by id,
/// and both kinds of pruning.
async fn the_store_keeps_and_prunes_sign_ins(store: Arc<dyn Store>) {
    let batch: Vec<SignInRecord> = (0..10)
        .map(|i| {
            let error = (i % 2 == 1).then_some("invalid_grant");
            record(
                &format!("t{i}"),
                1_000 + i,
                if i < 5 {
                    "Frank@Contoso.example"
                } else {
                    "amy@contoso.example"
                },
                error,
            )
        })
        .collect();
    store.insert_sign_ins(&batch).await.unwrap();
    store.insert_sign_ins(&[]).await.unwrap();
    let all = |q: SignInQuery| {
        let store = store.clone();
        async move {
            store
                .find_sign_ins(&SignInQuery { limit: 100, ..q })
                .await
                .unwrap()
        }
    };
    let every = all(SignInQuery::default()).await;
    assert_eq!(every.len(), 10);
    assert_eq!(every[0].trace_id, "t9", "newest first");
    assert!(every.windows(2).all(|w| w[0].id > w[1].id));
    let t3 = all(SignInQuery {
        trace_id: Some("t3".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(t3.len(), 1);
    assert_eq!(
        SignInRecord {
            id: 0,
            ..t3[0].clone()
        },
        batch[3]
    );
    assert_eq!(
        store.find_sign_in(t3[0].id).await.unwrap().as_ref(),
        Some(&t3[0])
    );
    assert_eq!(store.find_sign_in(-1).await.unwrap(), None);
    let by_correlation = all(SignInQuery {
        correlation_id: Some("c-t3".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_correlation, t3);
    let frank = all(SignInQuery {
        user: Some("frank@contoso.EXAMPLE".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(frank.len(), 5);
    let failed = all(SignInQuery {
        error: Some("AADSTS50126".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(failed.len(), 5);
    let failed_by_code = all(SignInQuery {
        error: Some("invalid_grant".into()),
        app: Some(WEB.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(failed_by_code, failed);
    let recent = all(SignInQuery {
        since: Some(1_007),
        ..Default::default()
    })
    .await;
    assert_eq!(recent.len(), 3);
    let after = all(SignInQuery {
        after_id: Some(every[2].id),
        ..Default::default()
    })
    .await;
    assert_eq!(after.len(), 2);
    let limited = store
        .find_sign_ins(&SignInQuery {
            limit: 4,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(limited, every[..4]);

    // Days: the records before 1_003 go; rows: then the newest 5 stay.
    assert_eq!(store.prune_sign_ins(1_003, 1_000).await.unwrap(), 3);
    assert_eq!(all(SignInQuery::default()).await.len(), 7);
    assert_eq!(store.prune_sign_ins(0, 5).await.unwrap(), 2);
    let kept = all(SignInQuery::default()).await;
    assert_eq!(kept, every[..5]);
    assert_eq!(store.prune_sign_ins(0, 5).await.unwrap(), 0);
}

#[tokio::test]
async fn the_store_keeps_and_prunes_sign_ins_on_sqlite() {
    on_sqlite(the_store_keeps_and_prunes_sign_ins).await;
}

#[tokio::test]
async fn the_store_keeps_and_prunes_sign_ins_on_postgres() {
    on_postgres(the_store_keeps_and_prunes_sign_ins).await;
}

/// The PostgreSQL table holds no secret either (the SQLite file is
/// grepped above): the same requests, on PostgreSQL.
#[tokio::test]
async fn no_record_holds_a_secret_sent_on_postgres() {
    on_postgres(|store| async move {
        let server = {
            let store = store.clone();
            TestServer::start_on(store).await
        };
        let wrong = "wrong-secret-on-postgres-0123456789ab";
        for secret in [ROBOT_SECRET, wrong] {
            server
                .token_with(
                    TENANT,
                    &[("grant_type", "client_credentials"), ("resource", FILES)],
                    |r| r.basic_auth(ROBOT, Some(secret)),
                )
                .await;
        }
        let password = server
            .token(
                TENANT,
                &[
                    ("grant_type", "password"),
                    ("client_id", WEB),
                    ("client_secret", WEB_SECRET),
                    ("username", "frank@contoso.example"),
                    ("password", "frank-password"),
                    ("resource", FILES),
                ],
            )
            .await;
        let body: Value = password.json().await.unwrap();
        let refresh = body["refresh_token"].as_str().unwrap().to_owned();
        server
            .token(
                TENANT,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", WEB),
                    ("client_secret", WEB_SECRET),
                    ("refresh_token", &refresh),
                ],
            )
            .await;
        let query = SignInQuery {
            limit: 100,
            ..SignInQuery::default()
        };
        let mut records = Vec::new();
        for _ in 0..200 {
            records = store.find_sign_ins(&query).await.unwrap();
            if records.len() >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(records.len(), 4);
        let table = records
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(table.contains("frank@contoso.example"));
        for secret in [
            ROBOT_SECRET,
            wrong,
            WEB_SECRET,
            "frank-password",
            &refresh,
            body["access_token"].as_str().unwrap(),
        ] {
            assert!(
                !table.contains(secret),
                "the PostgreSQL table holds {secret}"
            );
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{ROBOT}:{secret}"));
            assert!(!table.contains(&basic));
        }
    })
    .await;
}

#[tokio::test]
async fn device_code_requests_and_polls_are_records_with_no_code() {
    const DEVICE: &str = crate::device_code::DEVICE;
    let server = admin_server().await;
    let asked = server
        .http
        .post(format!("{}/{TENANT}/oauth2/devicecode", server.base))
        .form(&[("client_id", DEVICE), ("resource", FILES)])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200);
    let trace_id = asked.headers()["x-ms-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = asked.json().await.unwrap();
    let device_code = body["device_code"].as_str().unwrap().to_owned();
    let user_code = body["user_code"].as_str().unwrap().to_owned();
    let unknown = server
        .http
        .post(format!("{}/{TENANT}/oauth2/devicecode", server.base))
        .form(&[
            ("client_id", "00000000-0000-4000-8000-000000000000"),
            ("resource", FILES),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let poll = server
        .token(
            TENANT,
            &[
                ("grant_type", "device_code"),
                ("client_id", DEVICE),
                ("code", &device_code),
            ],
        )
        .await;
    assert_eq!(poll.status(), 400);
    let records = sign_ins(&server, "", 3).await;
    assert_eq!(records.len(), 3, "{records:#?}");
    let (polled, refused, issued) = (&records[0], &records[1], &records[2]);
    assert_eq!(issued["trace_id"], trace_id.as_str());
    assert_eq!(issued["endpoint"], "devicecode");
    assert_eq!(issued["app"], DEVICE);
    assert_eq!(issued["tenant"], TENANT);
    assert_eq!(issued["outcome"], "success");
    assert_eq!(refused["endpoint"], "devicecode");
    assert_eq!(refused["outcome"], "failure");
    assert_eq!(polled["grant"], "device_code");
    assert_eq!(polled["error"], "authorization_pending");
    let text = serde_json::to_string(&records).unwrap();
    assert!(!text.contains(&device_code));
    assert!(!text.contains(&user_code));
    assert!(!contains(&store_bytes(&server.db_path), &device_code));
}
