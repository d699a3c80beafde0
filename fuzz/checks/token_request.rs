//! The token endpoint as a client can reach it: any method, `Content-Type`,
//! `Authorization` header(s) and body, through the real router (the form
//! reader, the Basic credentials parser, every grant). Never a 500, never a
//! panic; every refusal is the seed's JSON document.

use axum::body::Body;
use axum::http::{Method, Request};

/// The input, split on 0xFF: method selector, content type,
/// authorization headers (split on 0xFE), path suffix selector, body.
fn request(data: &[u8]) -> Option<Request<Body>> {
    let mut parts = data.splitn(5, |b| *b == 0xFF);
    let method = match parts.next()?.first().copied().unwrap_or(0) % 4 {
        0 | 1 => Method::POST,
        2 => Method::GET,
        _ => Method::PUT,
    };
    let content_type = parts.next().unwrap_or_default();
    let authorization = parts.next().unwrap_or_default();
    let path = match parts
        .next()
        .unwrap_or_default()
        .first()
        .copied()
        .unwrap_or(0)
        % 3
    {
        0 => "/7fe81447-da57-4385-becb-6de57f21477e/oauth2/token",
        1 => "/contoso.example/oauth2/v2.0/token",
        _ => "/common/oauth2/token",
    };
    let body = parts.next().unwrap_or_default().to_vec();
    let mut builder = Request::builder().method(method).uri(path);
    if !content_type.is_empty() {
        builder = builder.header("content-type", content_type);
    }
    for value in authorization
        .split(|b| *b == 0xFE)
        .filter(|v| !v.is_empty())
    {
        builder = builder.header("authorization", value);
    }
    builder.body(Body::from(body)).ok()
}

pub fn check(data: &[u8]) {
    // Bytes no header may carry are refused before any server sees them.
    let Some(request) = request(data) else { return };
    let (response, body) = super::server::harness().send(request);
    assert_ne!(
        response.status().as_u16(),
        500,
        "{}",
        String::from_utf8_lossy(&body)
    );
    if !response.status().is_success() {
        super::server::assert_error_document(&body);
    }
}
