//! Compact-JWS validation in the resource middleware: arbitrary tokens, and
//! a real token from the real server with its header, payload or bytes
//! replaced. Refused with a `Rejection`, never a panic; nothing but the
//! real token is ever accepted.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_resource::{ResourceConfig, Validator};

struct Setup {
    validator: Arc<Validator>,
    /// A client-credentials token the real server issued for Files.
    token: String,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let harness = super::server::harness();
        let request = Request::builder()
            .method("POST")
            .uri("/7fe81447-da57-4385-becb-6de57f21477e/oauth2/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(concat!(
                "grant_type=client_credentials&client_id=2d4d11a2-f814-46a7-890a-274a72a7309e",
                "&client_secret=web-secret-0123456789-abcdefghijklmnop",
                "&resource=https%3A%2F%2Ffiles.contoso.example%2F",
            )))
            .expect("a request");
        let (_, body) = harness.send(request);
        let body: serde_json::Value = serde_json::from_slice(&body).expect("a token response");
        let token = body["access_token"].as_str().expect("a token").to_owned();
        let config = ResourceConfig::new(
            format!("{}/7fe81447-da57-4385-becb-6de57f21477e", harness.base),
            "https://files.contoso.example/",
        );
        let validator = Arc::new(Validator::new(config).expect("a validator"));
        harness
            .runtime
            .block_on(validator.refresh_now())
            .expect("discovery and keys");
        let accepted = harness.runtime.block_on(validator.validate(&token));
        assert!(accepted.is_ok(), "the real token validates");
        Setup { validator, token }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn check(data: &[u8]) {
    let setup = setup();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let real: Vec<&str> = setup.token.split('.').collect();
    let token = match mode % 4 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => format!("{}.{}.{}", real[0], b64(rest), real[2]),
        2 => format!("{}.{}.{}", b64(rest), real[1], real[2]),
        _ => {
            let mut bytes = setup.token.clone().into_bytes();
            for pair in rest.chunks(2) {
                if let [at, value] = pair {
                    let at = *at as usize * bytes.len() / 256;
                    bytes[at] = *value;
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    let outcome = super::server::harness()
        .runtime
        .block_on(setup.validator.validate(&token));
    if outcome.is_ok() {
        assert_eq!(token, setup.token, "only the real token is accepted");
    }
}
