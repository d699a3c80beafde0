//! ES256 from an authority that publishes an EC P-256 key (issue 18): the
//! token's alg must be its key's (RS256 with an RSA kid, ES256 with an EC
//! kid); a mismatch is an invalid signature, `none` and HMAC are never
//! allowed.

use crate::harness::*;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};

const BAD_ALG: &str = "The access token is signed with an algorithm that is not allowed.";

/// A P-256 signing key with its `kid`.
struct EcKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl EcKey {
    fn new(kid: &str) -> EcKey {
        EcKey {
            kid: kid.to_owned(),
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"kty": "EC", "use": "sig", "crv": "P-256", "kid": self.kid,
               "x": b64(&point[1..33]), "y": b64(&point[33..])})
    }

    /// Signs `header.claims` with ES256 whatever the header says.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }

    fn header(&self) -> Value {
        json!({"typ": "JWT", "alg": "ES256", "kid": self.kid})
    }
}

struct Setup {
    rsa: TestKey,
    ec: EcKey,
    authority: Authority,
    api: Api,
}

async fn setup() -> Setup {
    let rsa = TestKey::new("rsa-kid");
    let ec = EcKey::new("ec-kid");
    let authority = Authority::start(&[&rsa]).await;
    authority.keys.lock().unwrap().push(ec.jwk());
    let api = Api::start(&authority.authority_url()).await;
    Setup {
        rsa,
        ec,
        authority,
        api,
    }
}

/// The exact challenge of an `invalid_token` refusal for `description`.
fn challenge(s: &Setup, description: &str) -> String {
    format!(
        r#"Bearer authorization_uri="{}", error="invalid_token", error_description="{description}", resource_id="https://files.contoso.example/""#,
        s.authority.authorization_uri()
    )
}

async fn refused_exactly(s: &Setup, token: &str, description: &str) {
    let answer = s.api.bearer("/api/read", token).await;
    answer.assert_refused(&s.authority, 401, "invalid_token", description);
    assert_eq!(
        answer.www_authenticate.as_deref().unwrap(),
        challenge(s, description)
    );
}

#[tokio::test]
async fn an_es256_token_with_an_ec_kid_is_accepted_beside_rs256() {
    let s = setup().await;
    let claims = s.authority.claims();
    let answer = s
        .api
        .bearer("/api/read", &s.ec.sign(&s.ec.header(), &claims))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, "deNqIj9IOE9PWJWbHsftXt2EabPVl0Cj8QAmefRLV98");
    let answer = s
        .api
        .bearer("/api/read", &s.rsa.token(&s.authority, json!({})))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[tokio::test]
async fn an_alg_that_is_not_its_keys_type_is_a_bad_signature() {
    let s = setup().await;
    let claims = s.authority.claims();
    let bad_signature = "The access token signature is invalid.";
    // RS256 in the header, an EC kid (whatever signed it).
    let rs256_ec_kid = json!({"typ": "JWT", "alg": "RS256", "kid": "ec-kid"});
    refused_exactly(&s, &s.rsa.sign(&rs256_ec_kid, &claims), bad_signature).await;
    refused_exactly(&s, &s.ec.sign(&rs256_ec_kid, &claims), bad_signature).await;
    // ES256 in the header, an RSA kid.
    let es256_rsa_kid = json!({"typ": "JWT", "alg": "ES256", "kid": "rsa-kid"});
    refused_exactly(&s, &s.ec.sign(&es256_rsa_kid, &claims), bad_signature).await;
    refused_exactly(&s, &s.rsa.sign(&es256_rsa_kid, &claims), bad_signature).await;
    // A real ES256 token, altered: the signature no longer matches.
    let token = s.ec.sign(&s.ec.header(), &claims);
    let (signed, _) = token.rsplit_once('.').unwrap();
    let other = s.ec.sign(&s.ec.header(), &json!({"aud": "x"}));
    let (_, signature) = other.rsplit_once('.').unwrap();
    refused_exactly(&s, &format!("{signed}.{signature}"), bad_signature).await;
}

#[tokio::test]
async fn none_and_hmac_are_never_allowed_with_an_ec_kid() {
    let s = setup().await;
    let claims = s.authority.claims();
    for alg in ["none", "HS256", "ES384", "PS256"] {
        let header = json!({"typ": "JWT", "alg": alg, "kid": "ec-kid"});
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        // HMAC keyed with the public JWK's x, as a confused verifier would.
        let mac = hmac::sign(
            &hmac::Key::new(
                hmac::HMAC_SHA256,
                s.ec.jwk()["x"].as_str().unwrap().as_bytes(),
            ),
            input.as_bytes(),
        );
        refused_exactly(&s, &format!("{input}.{}", b64(mac.as_ref())), BAD_ALG).await;
        refused_exactly(&s, &format!("{input}."), BAD_ALG).await;
    }
}

#[tokio::test]
async fn an_ec_key_of_another_curve_or_with_an_rsa_alg_is_not_used() {
    let rsa = TestKey::new("rsa-kid");
    let ec = EcKey::new("ec-kid");
    let authority = Authority::start(&[&rsa]).await;
    let mut odd = ec.jwk();
    odd["alg"] = json!("RS256");
    authority.keys.lock().unwrap().push(odd);
    let api = Api::start(&authority.authority_url()).await;
    let answer = api
        .bearer("/api/read", &ec.sign(&ec.header(), &authority.claims()))
        .await;
    answer.assert_refused(
        &authority,
        401,
        "invalid_token",
        "The access token is signed with an unknown key.",
    );
}
