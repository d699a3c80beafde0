//! `GET /error?code=`: every AADSTS number of the catalogue answers its
//! rows, in JSON and on the page, read from the catalogue itself so the
//! two cannot disagree; unknown numbers and non-numbers say so; the
//! authorization endpoint's error page links to it.

use latchkey_protocol::{Aadsts, ConditionSpec, Surface};
use serde_json::{Value, json};

use crate::harness::{TENANT, TestServer, WEB};

/// The catalogue's numbers, each once.
fn numbers() -> Vec<u32> {
    let mut numbers: Vec<u32> = Aadsts::CATALOGUE.iter().map(|row| row.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

fn rows(number: u32) -> Vec<&'static ConditionSpec> {
    Aadsts::CATALOGUE
        .iter()
        .filter(|row| row.number == number)
        .collect()
}

/// A row as the JSON lookup must give it.
fn expected_entry(row: &ConditionSpec) -> Value {
    json!({
        "aadsts": row.number,
        "error": row.code.as_str(),
        "suberror": row.suberror,
        "surfaces": row.code.surfaces().iter().map(|s| match s {
            Surface::Authorize => "authorize",
            Surface::Token => "token",
            Surface::Resource => "resource",
        }).collect::<Vec<_>>(),
        "token_status": row.code.is_valid_on(Surface::Token).then(|| row.token_status()),
        "when": row.when,
        "message": row.message,
        "client_action": row.client_action().text(),
        "number_origin": match row.origin {
            latchkey_protocol::NumberOrigin::AzureAd => "azure_ad",
            latchkey_protocol::NumberOrigin::Latchkey => "latchkey",
        },
    })
}

/// minijinja's escapes undone.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The page's text: tags dropped (a space for those that end a line),
/// escapes undone, spaces collapsed.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut tag: Option<String> = None;
    for c in html.chars() {
        match (&mut tag, c) {
            (None, '<') => tag = Some(String::new()),
            (Some(name), '>') => {
                let name = name.trim_start_matches('/');
                let name = name.split_whitespace().next().unwrap_or_default();
                if ["dt", "dd", "h1", "h2", "p", "li", "section", "dl"].contains(&name) {
                    text.push(' ');
                }
                tag = None;
            }
            (Some(name), c) => name.push(c),
            (None, c) => text.push(c),
        }
    }
    unescape(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The catalogue's text with its code marks (backticks) dropped, as the
/// page shows it.
fn shown(text: &str) -> String {
    text.replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn lookup(server: &TestServer, query: &str, json: bool) -> reqwest::Response {
    let request = server.http.get(format!("{}/error{query}", server.base));
    let request = if json {
        request.header("accept", "application/json")
    } else {
        request.header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_aadsts_number_answers_its_catalogue_rows_in_json() {
    let server = TestServer::start().await;
    for number in numbers() {
        let response = lookup(&server, &format!("?code={number}"), true).await;
        assert_eq!(response.status(), 200, "{number}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let body: Value = response.json().await.unwrap();
        let expected: Vec<Value> = rows(number).into_iter().map(expected_entry).collect();
        assert_eq!(
            body,
            json!({"code": number.to_string(), "entries": expected}),
            "{number}"
        );
    }
}

#[tokio::test]
async fn every_aadsts_number_answers_its_catalogue_rows_on_the_page() {
    let server = TestServer::start().await;
    for number in numbers() {
        let response = lookup(&server, &format!("?code=AADSTS{number}"), false).await;
        assert_eq!(response.status(), 200, "{number}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let html = response.text().await.unwrap();
        let sections: Vec<&str> = html.split("<section class=\"entry\"").skip(1).collect();
        let rows = rows(number);
        assert_eq!(sections.len(), rows.len(), "{number}: one section per row");
        for (section, row) in sections.iter().zip(rows) {
            assert!(
                section.starts_with(&format!(
                    " data-aadsts=\"{number}\" data-error=\"{}\"",
                    row.code.as_str()
                )),
                "{number}: {section}"
            );
            let text = text_of(section);
            for part in [
                shown(row.when),
                shown(&format!("AADSTS{}: {}", row.number, row.message)),
                shown(row.client_action().text()),
            ] {
                assert!(text.contains(&part), "{number}: {part:?} not in {text:?}");
            }
            match row.code.is_valid_on(Surface::Token) {
                true => assert!(
                    text.contains(&format!("Token endpoint status {}", row.token_status())),
                    "{number}: {text}"
                ),
                false => assert!(text.contains("a redirect from the authorization endpoint")),
            }
        }
    }
}

#[tokio::test]
async fn an_unknown_number_and_a_non_number_say_so() {
    let server = TestServer::start().await;

    let response = lookup(&server, "?code=12345", true).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"code": "12345", "entries": [], "message": "AADSTS12345 is not in Latchkey's catalogue: Latchkey never answers it."})
    );
    let response = lookup(&server, "?code=12345", false).await;
    assert_eq!(response.status(), 404);
    let text = text_of(&response.text().await.unwrap());
    assert!(
        text.contains("AADSTS12345 is not in Latchkey's catalogue"),
        "{text}"
    );

    let response = lookup(&server, "?code=%3Cb%3Eoops", true).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"code": "<b>oops", "entries": [], "message": "'<b>oops' is not an AADSTS number: look up the digits after AADSTS, e.g. /error?code=50058."})
    );
    let response = lookup(&server, "?code=%3Cb%3Eoops", false).await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<b>oops"), "escaped: {html}");
    assert!(text_of(&html).contains("'<b>oops' is not an AADSTS number"));
}

#[tokio::test]
async fn the_index_lists_every_number_and_the_json_every_row() {
    let server = TestServer::start().await;
    let response = lookup(&server, "", true).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let expected: Vec<Value> = Aadsts::CATALOGUE.iter().map(expected_entry).collect();
    assert_eq!(body, json!({"entries": expected}));

    let response = lookup(&server, "", false).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["vary"], "accept");
    let html = response.text().await.unwrap();
    for number in numbers() {
        assert!(
            html.contains(&format!("<a href=\"error?code={number}\">{number}</a>")),
            "{number}"
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
}

#[tokio::test]
async fn the_lookup_takes_get_only() {
    let server = TestServer::start().await;
    let response = server
        .http
        .post(format!("{}/error?code=50011", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn the_authorize_error_page_links_each_number_to_its_entry() {
    let server = TestServer::start().await;
    let url = server.authorize_url(
        TENANT,
        &[
            ("client_id", WEB),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
        ],
    );
    let page = server.browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // minijinja writes `/` in an attribute as `&#x2f;`, which browsers read back.
    let html = unescape(&page.text().await.unwrap());
    let link = format!("{}/error?code=50011", server.base);
    assert!(
        html.contains(&format!(
            "<a class=\"lookup\" href=\"{link}\">AADSTS50011</a>"
        )),
        "{html}"
    );
    let entry = lookup(&server, "?code=50011", false).await;
    assert_eq!(entry.status(), 200);
    let text = text_of(&entry.text().await.unwrap());
    assert!(
        text.contains("AADSTS50011: The redirect URI '{redirect_uri}'"),
        "{text}"
    );
}
