//! The forged-token matrix: every forgery is refused with `invalid_token`
//! and the reason, and none makes the middleware fetch anything it names.

use crate::harness::*;
use aws_lc_rs::hmac;
use serde_json::{Value, json};

const MALFORMED: &str = "The access token is malformed.";
const BAD_ALG: &str = "The access token is signed with an algorithm that is not allowed.";
const BAD_SIG: &str = "The access token signature is invalid.";
const UNKNOWN_KEY: &str = "The access token is signed with an unknown key.";

struct Setup {
    key: TestKey,
    authority: Authority,
    api: Api,
}

async fn setup() -> Setup {
    let key = TestKey::new("real-kid");
    let authority = Authority::start(&[&key]).await;
    let api = Api::start(&authority.authority_url()).await;
    // Prime the key cache, so a later fetch would show as a hit.
    assert_eq!(
        api.bearer("/api/read", &key.token(&authority, json!({})))
            .await
            .status,
        200
    );
    Setup {
        key,
        authority,
        api,
    }
}

async fn refused(s: &Setup, token: &str, description: &str) {
    let answer = s.api.bearer("/api/read", token).await;
    answer.assert_refused(&s.authority, 401, "invalid_token", description);
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.{}.", b64(header.to_string()), b64(claims.to_string()))
}

#[tokio::test]
async fn alg_none_in_every_spelling() {
    let s = setup().await;
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let token = unsigned(
            &json!({"typ": "JWT", "alg": alg, "kid": "real-kid"}),
            &s.authority.claims(),
        );
        refused(&s, &token, BAD_ALG).await;
    }
    let token = unsigned(
        &json!({"typ": "JWT", "kid": "real-kid"}),
        &s.authority.claims(),
    );
    refused(&s, &token, BAD_ALG).await;
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key() {
    let s = setup().await;
    let input = format!(
        "{}.{}",
        b64(json!({"typ": "JWT", "alg": "HS256", "kid": "real-kid"}).to_string()),
        b64(s.authority.claims().to_string())
    );
    let mac = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &s.key.public_der()),
        input.as_bytes(),
    );
    refused(&s, &format!("{input}.{}", b64(mac.as_ref())), BAD_ALG).await;
}

#[tokio::test]
async fn embedded_keys_and_key_urls_are_never_followed() {
    let s = setup().await;
    let attacker = TestKey::new("attacker");
    let evil = format!("{}/evil/keys", s.authority.base);
    let fetches = s.authority.jwks_fetches();
    let headers = [
        json!({"alg": "RS256", "kid": "attacker", "jwk": attacker.jwk()}),
        json!({"alg": "RS256", "kid": "real-kid", "jwk": attacker.jwk()}),
        json!({"alg": "RS256", "kid": "real-kid", "jku": evil}),
        json!({"alg": "RS256", "kid": "real-kid", "x5u": evil}),
    ];
    let expected = [UNKNOWN_KEY, BAD_SIG, BAD_SIG, BAD_SIG];
    for (header, description) in headers.iter().zip(expected) {
        refused(
            &s,
            &attacker.sign(header, &s.authority.claims()),
            description,
        )
        .await;
    }
    assert_eq!(
        s.authority
            .evil_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no request to jku/x5u"
    );
    assert!(
        s.authority.jwks_fetches() <= fetches + 1,
        "at most one refetch for the unknown kid"
    );
}

#[tokio::test]
async fn odd_kids() {
    let s = setup().await;
    for kid in [
        "../../../../etc/passwd",
        "' OR 1=1 --",
        "unknown",
        "real-kid\u{0}",
    ] {
        let header = json!({"alg": "RS256", "kid": kid});
        refused(&s, &s.key.sign(&header, &s.authority.claims()), UNKNOWN_KEY).await;
    }
    let huge = json!({"alg": "RS256", "kid": "k".repeat(10 * 1024)});
    refused(
        &s,
        &s.key.sign(&huge, &s.authority.claims()),
        "The access token is too large.",
    )
    .await;
}

#[tokio::test]
async fn stripped_and_bit_flipped_signatures() {
    let s = setup().await;
    let token = s.key.token(&s.authority, json!({}));
    let (signed, signature) = token.rsplit_once('.').unwrap();
    refused(&s, &format!("{signed}."), BAD_SIG).await;
    let mut bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    bytes[17] ^= 0x01;
    refused(&s, &format!("{signed}.{}", b64(&bytes)), BAD_SIG).await;
    // A claim changed after signing.
    let mut claims = s.authority.claims();
    claims["scp"] = json!("Files.Read Files.Admin");
    let tampered = format!(
        "{}.{}.{signature}",
        signed.split('.').next().unwrap(),
        b64(claims.to_string())
    );
    refused(&s, &tampered, BAD_SIG).await;
}

#[tokio::test]
async fn claims_that_do_not_hold() {
    let s = setup().await;
    let cases = [
        (
            json!({"aud": "https://other.example/"}),
            "The access token is not intended for this resource.",
        ),
        (
            json!({"aud": ["https://other.example/"]}),
            "The access token is not intended for this resource.",
        ),
        (
            json!({"iss": "https://evil.example/7fe81447-da57-4385-becb-6de57f21477e/"}),
            "The access token was issued by an untrusted issuer.",
        ),
        (json!({"exp": now() - 3600}), "The access token is expired."),
        (
            json!({"nbf": now() + 3600}),
            "The access token is not yet valid.",
        ),
        (json!({"exp": null}), "The access token has no expiry."),
        (json!({"exp": "tomorrow"}), MALFORMED),
        // An ID token: its audience is the client, not this API.
        (
            json!({"aud": "2d4d11a2-f814-46a7-890a-274a72a7309e", "nonce": "n", "scp": null}),
            "The access token is not intended for this resource.",
        ),
    ];
    for (overrides, description) in cases {
        refused(
            &s,
            &s.key.token(&s.authority, overrides.clone()),
            description,
        )
        .await;
    }
    // Leeway: a token that expired a few seconds ago still passes.
    assert_eq!(
        s.api
            .bearer(
                "/api/read",
                &s.key.token(&s.authority, json!({"exp": now() - 5}))
            )
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn malformed_encodings() {
    let s = setup().await;
    let token = s.key.token(&s.authority, json!({}));
    let parts: Vec<&str> = token.split('.').collect();
    // '+' and '/' are token68 but not base64url; '=' padding is refused.
    refused(
        &s,
        &format!("{}+.{}.{}", parts[0], parts[1], parts[2]),
        MALFORMED,
    )
    .await;
    refused(
        &s,
        &format!("{}.{}/.{}", parts[0], parts[1], parts[2]),
        MALFORMED,
    )
    .await;
    refused(&s, "abc", MALFORMED).await;
    refused(&s, "a.b.c.d", MALFORMED).await;
    refused(&s, &format!("{}.{}", parts[0], parts[1]), MALFORMED).await;
    refused(
        &s,
        &format!("{}.{}.{}", b64("not json"), parts[1], parts[2]),
        MALFORMED,
    )
    .await;
    // Duplicate members: two parsers could read two different audiences.
    let duplicated = format!(
        r#"{{"aud":"https://other.example/","aud":"{RESOURCE}","exp":{}}}"#,
        now() + 3600
    );
    let input = format!("{}.{}", b64(s.key.header().to_string()), b64(duplicated));
    refused(&s, &s.key.sign_input(&input), MALFORMED).await;
    let crit = json!({"alg": "RS256", "kid": "real-kid", "crit": ["exp"]});
    refused(
        &s,
        &s.key.sign(&crit, &s.authority.claims()),
        "The access token has a critical header parameter that is not understood.",
    )
    .await;
    let huge = s
        .key
        .token(&s.authority, json!({"padding": "x".repeat(16 * 1024)}));
    refused(&s, &huge, "The access token is too large.").await;
}
