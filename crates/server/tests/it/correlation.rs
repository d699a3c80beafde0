//! Where the correlation id comes from: the `client-request-id` header
//! (ADAL, MSAL Python), the `x-ms-client-request-id` header (the Azure
//! SDKs) and the `client-request-id` query parameter (MSAL.js,
//! msal-node), in that order, each only when a GUID; and
//! `return-client-request-id` (header or query) echoing whichever won.

use crate::harness::*;

const A: &str = "11111111-1111-4111-8111-111111111111";
const B: &str = "22222222-2222-4222-8222-222222222222";
const C: &str = "33333333-3333-4333-8333-333333333333";

/// A token request with no grant type (an error with the ids) whose URL
/// carries `query`, decorated with headers.
async fn send(
    server: &TestServer,
    query: &str,
    decorate: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    let request = server
        .http
        .post(format!("{}/{TENANT}/oauth2/v2.0/token{query}", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("client_id", WEB)]));
    decorate(request).send().await.unwrap()
}

async fn correlation_of(response: reqwest::Response) -> String {
    let doc: serde_json::Value = response.json().await.unwrap();
    doc["correlation_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_header_then_the_ms_header_then_the_query() {
    let server = TestServer::start().await;
    let all = |r: reqwest::RequestBuilder| {
        r.header("client-request-id", A)
            .header("x-ms-client-request-id", B)
    };
    let query = format!("?client-request-id={C}");
    assert_eq!(correlation_of(send(&server, &query, all).await).await, A);
    let ms = |r: reqwest::RequestBuilder| r.header("x-ms-client-request-id", B);
    assert_eq!(correlation_of(send(&server, &query, ms).await).await, B);
    assert_eq!(correlation_of(send(&server, &query, |r| r).await).await, C);
    // A source that is not a GUID counts as absent: the next one wins.
    let junk = |r: reqwest::RequestBuilder| {
        r.header("client-request-id", "not-a-guid")
            .header("x-ms-client-request-id", "<b>")
    };
    assert_eq!(correlation_of(send(&server, &query, junk).await).await, C);
    let fresh = correlation_of(send(&server, "?client-request-id=%3Cscript%3E", |r| r).await).await;
    assert!(uuid::Uuid::try_parse(&fresh).is_ok());
    assert!(![A, B, C].contains(&fresh.as_str()));
}

#[tokio::test]
async fn the_query_id_is_in_the_seed_document_byte_for_byte() {
    let server = TestServer::start().await;
    let response = send(&server, &format!("?client-request-id={C}"), |r| r).await;
    assert_token_error(
        response,
        Expected {
            correlation_id: Some(C),
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
async fn return_client_request_id_echoes_whichever_source_won() {
    let server = TestServer::start().await;
    let cases: [(&str, &str, Option<&str>, &str); 4] = [
        ("", "client-request-id", Some(A), A),
        ("", "x-ms-client-request-id", Some(B), B),
        (
            "?client-request-id=33333333-3333-4333-8333-333333333333",
            "",
            None,
            C,
        ),
        (
            "?client-request-id=33333333-3333-4333-8333-333333333333&return-client-request-id=true",
            "",
            None,
            C,
        ),
    ];
    for (i, (query, header, value, expected)) in cases.into_iter().enumerate() {
        let via_query = query.contains("return-client-request-id");
        let response = send(&server, query, |r| {
            let r = match value {
                Some(value) => r.header(header, value),
                None => r,
            };
            if via_query {
                r
            } else {
                r.header("return-client-request-id", "true")
            }
        })
        .await;
        assert_eq!(
            response.headers()["client-request-id"],
            expected,
            "case {i}"
        );
        assert_eq!(correlation_of(response).await, expected, "case {i}");
    }
    // Not asked: not echoed.
    let response = send(&server, &format!("?client-request-id={C}"), |r| r).await;
    assert!(!response.headers().contains_key("client-request-id"));
}
