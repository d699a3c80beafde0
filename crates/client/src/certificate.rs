//! A certificate as the client's credential (RFC 7523 §2.2, Azure AD's
//! certificate credentials): a PEM holding the private key and its
//! certificate, from which each token request gets a fresh assertion,
//! signed PS256 (RSA) or ES256 (P-256) and naming the certificate by its
//! `x5t#S256` and `x5t` thumbprints, for the token endpoint it is sent to.
//! A fresh assertion per request works with apps that take each assertion
//! once (`single_use_assertions`).

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: what MSAL and the Azure SDKs use.
const LIFETIME_SECONDS: i64 = 600;

enum Key {
    Rsa(RsaKeyPair),
    P256(EcdsaKeyPair),
}

/// A private key and its certificate, ready to sign assertions.
pub struct ClientCertificate {
    key: Key,
    /// `base64url({"alg":…,"typ":"JWT","x5t":…,"x5t#S256":…}).`
    header_prefix: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate").finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// A PEM with a `PRIVATE KEY` (PKCS#8, RSA or P-256) or `RSA PRIVATE
    /// KEY` block and the `CERTIFICATE` it belongs to (the first one).
    pub fn from_pem(text: &str) -> Result<ClientCertificate, String> {
        let blocks = pem::parse_many(text).map_err(|e| format!("not PEM: {e}"))?;
        let certificate = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or("no CERTIFICATE block")?
            .contents();
        let key = match blocks.iter().find(|b| b.tag().ends_with("PRIVATE KEY")) {
            Some(b) if b.tag() == "PRIVATE KEY" => RsaKeyPair::from_pkcs8(b.contents())
                .map(Key::Rsa)
                .or_else(|_| {
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, b.contents())
                        .map(Key::P256)
                })
                .map_err(|_| "the private key is neither RSA nor P-256".to_owned())?,
            Some(b) if b.tag() == "RSA PRIVATE KEY" => RsaKeyPair::from_der(b.contents())
                .map(Key::Rsa)
                .map_err(|_| "the RSA private key cannot be read".to_owned())?,
            Some(b) => {
                return Err(format!(
                    "a {} block is not a key this client reads",
                    b.tag()
                ));
            }
            None => return Err("no PRIVATE KEY block".into()),
        };
        let alg = match key {
            Key::Rsa(_) => "PS256",
            Key::P256(_) => "ES256",
        };
        let thumbprint = |algorithm| URL_SAFE_NO_PAD.encode(digest::digest(algorithm, certificate));
        let header = format!(
            r#"{{"alg":"{alg}","typ":"JWT","x5t":"{}","x5t#S256":"{}"}}"#,
            thumbprint(&digest::SHA1_FOR_LEGACY_USE_ONLY),
            thumbprint(&digest::SHA256)
        );
        Ok(ClientCertificate {
            key,
            header_prefix: format!("{}.", URL_SAFE_NO_PAD.encode(header)),
            rng: SystemRandom::new(),
        })
    }

    /// A new assertion of `client_id` for the token endpoint `audience`,
    /// valid from `now` (Unix seconds) for ten minutes.
    pub fn assertion(&self, client_id: &str, audience: &str, now: i64) -> Result<String, String> {
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "nbf": now,
            "exp": now + LIFETIME_SECONDS,
        });
        let mut jwt = self.header_prefix.clone();
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut jwt);
        let signature = match &self.key {
            Key::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PSS_SHA256, &self.rng, jwt.as_bytes(), &mut signature)
                    .map_err(|_| "signing the assertion failed".to_owned())?;
                signature
            }
            Key::P256(key) => key
                .sign(&self.rng, jwt.as_bytes())
                .map_err(|_| "signing the assertion failed".to_owned())?
                .as_ref()
                .to_vec(),
        };
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
        Ok(jwt)
    }
}
