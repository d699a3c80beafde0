//! Client assertions at the token endpoint: Contoso Daemon (a certificate,
//! no secret) presents an assertion built from the input, whose header,
//! claims and signature are arbitrary, or whose header carries arbitrary
//! bytes as its `x5c` certificate (DER parsed from a stranger's input) or
//! thumbprints. Never a 500, never a panic, never a token: nothing the
//! input can hold is signed by the certificate's key.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

const DAEMON: &str = "c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f";

/// The input, split on 0xFF: mode, header, claims, signature.
fn assertion(data: &[u8]) -> String {
    let mut parts = data.splitn(4, |b| *b == 0xFF);
    let mode = parts
        .next()
        .unwrap_or_default()
        .first()
        .copied()
        .unwrap_or(0);
    let header = parts.next().unwrap_or_default();
    let claims = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let header = match mode % 4 {
        // The header's bytes as they are.
        0 => header.to_vec(),
        // The bytes as an `x5c` certificate.
        1 => format!(r#"{{"alg":"RS256","x5c":["{}"]}}"#, STANDARD.encode(header)).into_bytes(),
        // The bytes as thumbprints.
        2 => format!(
            r#"{{"alg":"PS256","x5t":"{0}","x5t#S256":"{0}"}}"#,
            URL_SAFE_NO_PAD.encode(header)
        )
        .into_bytes(),
        // The bytes as a `kid`, for a hex thumbprint.
        _ => serde_json::json!({"alg": "ES256", "kid": String::from_utf8_lossy(header)})
            .to_string()
            .into_bytes(),
    };
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

pub fn check(data: &[u8]) {
    let body = form_urlencoded_pairs(&[
        ("grant_type", "client_credentials"),
        ("client_id", DAEMON),
        ("resource", "https://files.contoso.example/"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", &assertion(data)),
    ]);
    let request = Request::builder()
        .method("POST")
        .uri("/7fe81447-da57-4385-becb-6de57f21477e/oauth2/v2.0/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("a request");
    let (response, body) = super::server::harness().send(request);
    assert!(
        !response.status().is_success(),
        "an assertion from the input got a token: {}",
        String::from_utf8_lossy(&body)
    );
    assert_ne!(
        response.status().as_u16(),
        500,
        "{}",
        String::from_utf8_lossy(&body)
    );
    super::server::assert_error_document(&body);
}

/// `application/x-www-form-urlencoded`, each value percent-encoded.
fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            let encoded: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{name}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}
