//! `WWW-Authenticate` as the client reads it (RFC 9110 §11.6.1): any
//! header values parse or are refused without a panic, and a Bearer
//! challenge that parses writes back to a value that parses to the same.

use axum::http::{HeaderMap, HeaderValue};
use latchkey_protocol::{BearerChallenge, parse_challenges};

pub fn check(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for value in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append("www-authenticate", value);
        }
    }
    let _ = latchkey_client::parse::challenges(&headers);
    if let Some(bearer) = latchkey_client::parse::bearer_challenge(&headers) {
        let written = bearer.to_string();
        let again = parse_challenges(&written).expect("a written challenge parses");
        assert_eq!(
            BearerChallenge::from_challenges(&again),
            Some(bearer),
            "{written}"
        );
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_challenges(text);
    }
}
