//! `serve --metrics-listen`: a scrape after a known sequence of requests
//! shows exactly those counts. The recorder is process-global, so the
//! server is the `latchkey` binary in a process of its own.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve::{serve, value_after};

const ADMIN_KEY: &str = "metrics-admin-key-0123456789";

struct Scraped {
    text: String,
}

impl Scraped {
    /// The value of the series written exactly `series` (name and labels).
    fn value(&self, series: &str) -> Option<f64> {
        self.text.lines().find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
    }

    fn assert(&self, series: &str, expected: f64) {
        assert_eq!(
            self.value(series),
            Some(expected),
            "{series}\n--- scrape ---\n{}",
            self.text
        );
    }
}

async fn scrape(http: &reqwest::Client, url: &str) -> Scraped {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    Scraped {
        text: response.text().await.unwrap(),
    }
}

fn requests(endpoint: &str, grant: &str, status: u16, error: &str, aadsts: &str) -> String {
    format!(
        "latchkey_http_requests_total{{endpoint=\"{endpoint}\",grant=\"{grant}\",status=\"{status}\",error=\"{error}\",aadsts=\"{aadsts}\"}}"
    )
}

fn error_code(body: &Value) -> String {
    body["error_codes"][0].as_u64().unwrap().to_string()
}

#[tokio::test]
async fn a_scrape_counts_exactly_the_requests_made() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.path().to_str().unwrap(),
        "--metrics-listen",
        "127.0.0.1:0",
        "--admin-key",
        ADMIN_KEY,
        "--max-in-flight",
        "1",
    ]);
    let base = server.lines[0]["Latchkey listening on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let metrics = server
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("Metrics listening on "))
        .expect("serve says where to scrape")
        .trim()
        .to_owned();
    assert!(metrics.starts_with("http://127.0.0.1:") && metrics.ends_with("/metrics"));
    let tenant = value_after(&server.lines, "Demo tenant");
    let client_id = value_after(&server.lines, "confidential client:");
    let secret = value_after(&server.lines, "client secret:");
    let token_url = format!("{base}/{tenant}/oauth2/token");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let post = |body: String| {
        http.post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let client_credentials = |secret: &str| {
        format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}&resource=https%3A%2F%2Ffiles.contoso.example%2F"
        )
    };

    // The main listener does not serve the metrics.
    let response = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let unknown = error_code(&response.json().await.unwrap());

    for _ in 0..3 {
        assert_eq!(
            post(client_credentials(&secret)).await.unwrap().status(),
            200
        );
    }
    let mut invalid_client = String::new();
    for _ in 0..2 {
        let response = post(client_credentials("not-the-secret")).await.unwrap();
        assert_eq!(response.status(), 401);
        invalid_client = error_code(&response.json().await.unwrap());
    }
    let response = post("grant_type=telepathy".to_owned()).await.unwrap();
    assert_eq!(response.status(), 400);
    let unsupported = error_code(&response.json().await.unwrap());
    let discovery = http
        .get(format!("{base}/{tenant}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);
    assert_eq!(
        http.get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A password grant and one refresh of its token: the grants' store calls.
    let user = value_after(&server.lines, "users:");
    let password = value_after(&server.lines, "user password:");
    let public_client = value_after(&server.lines, "public client:");
    let signed_in: Value = post(format!(
        "grant_type=password&client_id={public_client}&username={}&password={password}&resource=https%3A%2F%2Ffiles.contoso.example%2F",
        user.replace('@', "%40")
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let refresh_token = signed_in["refresh_token"]
        .as_str()
        .expect("a refresh token");
    let refreshed = post(format!(
        "grant_type=refresh_token&client_id={public_client}&refresh_token={refresh_token}"
    ))
    .await
    .unwrap();
    assert_eq!(refreshed.status(), 200);

    // Overload: one token request held by a scenario's delay takes the one
    // permit (--max-in-flight 1); the next is refused with 503.
    let added = http
        .post(format!("{base}/_admin/scenarios"))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({"tenant": tenant, "endpoint": "token", "error": "temporarily_unavailable", "times": 1, "delay_ms": 3000}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let held = tokio::spawn(post(client_credentials(&secret)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while scrape(&http, &metrics)
        .await
        .value("latchkey_http_requests_in_flight")
        != Some(1.0)
    {
        assert!(
            Instant::now() < deadline,
            "the held request never took its permit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = post(client_credentials(&secret)).await.unwrap();
    assert_eq!(refused.status(), 503);
    let throttled = error_code(&refused.json().await.unwrap());
    // Health is not behind the limit: both answer while it sheds load.
    for health in ["live", "ready"] {
        let response = http
            .get(format!("{base}/health/{health}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "/health/{health} under overload");
    }
    let held = held.await.unwrap().unwrap();
    assert_eq!(held.status(), 503);
    let injected = error_code(&held.json().await.unwrap());

    let scraped = scrape(&http, &metrics).await;
    let token = "/{tenant}/oauth2/token";
    scraped.assert(&requests(token, "client_credentials", 200, "", ""), 3.0);
    scraped.assert(
        &requests(
            token,
            "client_credentials",
            401,
            "invalid_client",
            &invalid_client,
        ),
        2.0,
    );
    scraped.assert(
        &requests(token, "", 400, "unsupported_grant_type", &unsupported),
        1.0,
    );
    scraped.assert(
        &requests(
            token,
            "client_credentials",
            503,
            "temporarily_unavailable",
            &injected,
        ),
        1.0,
    );
    // Refused by the guard before the token endpoint read the grant.
    scraped.assert(
        &requests(token, "", 503, "temporarily_unavailable", &throttled),
        1.0,
    );
    scraped.assert(
        &requests("unmatched", "", 404, "invalid_request", &unknown),
        1.0,
    );
    scraped.assert(
        &requests(
            "/{tenant}/.well-known/openid-configuration",
            "",
            200,
            "",
            "",
        ),
        1.0,
    );
    scraped.assert(&requests(token, "password", 200, "", ""), 1.0);
    scraped.assert(&requests(token, "refresh_token", 200, "", ""), 1.0);
    scraped.assert(&requests("/health/live", "", 200, "", ""), 2.0);
    scraped.assert(&requests("/health/ready", "", 200, "", ""), 1.0);
    scraped.assert(&requests("/_admin/scenarios", "", 201, "", ""), 1.0);
    let total: f64 = scraped
        .text
        .lines()
        .filter(|l| l.starts_with("latchkey_http_requests_total{"))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 16.0, "no other request counted:\n{}", scraped.text);
    scraped.assert(
        "latchkey_http_request_duration_seconds_count{endpoint=\"/{tenant}/oauth2/token\"}",
        10.0,
    );
    scraped.assert(
        "latchkey_http_overload_refusals_total{endpoint=\"/{tenant}/oauth2/token\"}",
        1.0,
    );
    scraped.assert("latchkey_http_requests_in_flight", 0.0);
    // Three client-credentials tokens, the password grant's and the
    // refresh's access tokens (no `openid`: no ID tokens).
    scraped.assert("latchkey_signatures_total{alg=\"RS256\"}", 5.0);
    for (operation, count) in [
        ("insert_refresh_token", 1.0),
        ("find_refresh_grant", 1.0),
        ("rotate_refresh_token", 1.0),
    ] {
        scraped.assert(
            &format!(
                "latchkey_store_operation_duration_seconds_count{{operation=\"{operation}\"}}"
            ),
            count,
        );
    }
    for name in [
        "latchkey_sign_in_log_records_written_total",
        "latchkey_sign_in_log_records_dropped_total",
        "latchkey_key_ring_replacements_total",
    ] {
        assert!(
            scraped.text.contains(&format!("# TYPE {name} counter\n")),
            "{name} is exported:\n{}",
            scraped.text
        );
        assert!(scraped.value(name).is_some(), "{name}");
    }
    assert!(
        scraped
            .text
            .contains("# HELP latchkey_http_requests_total Requests answered"),
        "{}",
        scraped.text
    );
}
