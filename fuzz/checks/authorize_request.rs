//! The authorization endpoint's parameters, in a GET query or a POST body,
//! through the real router: never a 500 or a panic, and a redirect only to
//! a redirect URI the directory registers.

use axum::body::Body;
use axum::http::{Method, Request};

const REGISTERED: &[&str] = &[
    "http://localhost:5000/callback",
    "https://web.contoso.example/signin-oidc",
    "http://127.0.0.1/",
    "http://127.0.0.1:",
    "http://localhost:7000/cb",
    "https://legacy.contoso.example/cb",
];

pub fn check(data: &[u8]) {
    let Some((&selector, params)) = data.split_first() else {
        return;
    };
    let path = if selector & 1 == 0 {
        "/7fe81447-da57-4385-becb-6de57f21477e/oauth2/authorize"
    } else {
        "/contoso.example/oauth2/v2.0/authorize"
    };
    let request = if selector & 2 == 0 {
        // A query is what a URI can carry: percent-encode what it cannot.
        let query: String = params
            .iter()
            .map(|b| match b {
                b'!'..=b'~' if *b != b'#' => (*b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        Request::builder()
            .method(Method::GET)
            .uri(format!("{path}?{query}"))
            .body(Body::empty())
    } else {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(params.to_vec()))
    };
    let Ok(request) = request else { return };
    let (response, body) = super::server::harness().send(request);
    let status = response.status().as_u16();
    assert_ne!(status, 500, "{}", String::from_utf8_lossy(&body));
    if let Some(location) = response.headers().get("location") {
        let location = location.to_str().expect("an ASCII Location");
        assert!(
            location.starts_with('/') || REGISTERED.iter().any(|r| location.starts_with(r)),
            "redirected to {location}"
        );
    }
}
