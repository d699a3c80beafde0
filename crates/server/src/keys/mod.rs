//! The signing keys: RS256 (RSA-2048) and ES256 (P-256), made on first
//! start (an EC key only when a tenant signs with ES256, or when `keys
//! rotate` asks), kept in the store, published as JWKs with `kid` and `x5t`
//! (both the certificate's SHA-1 thumbprint, as Azure AD does), and used to
//! sign tokens. `ring` decides which key of each kind signs and which are
//! published.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use serde::Serialize;
use time::OffsetDateTime;

use crate::store::StoredKey;

mod ring;

pub use ring::{KeyRing, KeyStatus};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("the stored signing key {kid} cannot be read")]
    Unreadable { kid: String },
    #[error("making the key's certificate failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("signing failed")]
    Sign,
    #[error("no {0} signing key in the store")]
    Missing(SigningAlg),
}

/// The JWS algorithm a tenant's tokens are signed with, and so the kind of
/// key that signs them: RS256 (RSA-2048, Azure AD's, the default) or ES256
/// (ECDSA P-256 with SHA-256, the signature as fixed-width `r || s`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigningAlg {
    #[default]
    Rs256,
    Es256,
}

impl SigningAlg {
    /// Every kind, in the order the JWKS and `keys list` name them.
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Rs256, SigningAlg::Es256];

    /// The JWS `alg` (RFC 7518 §3.1), which is also how the store and the
    /// directory file write it.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
        }
    }
}

impl std::fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SigningAlg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(SigningAlg::Rs256),
            "ES256" => Ok(SigningAlg::Es256),
            other => Err(format!(
                "'{other}' is not a signing algorithm (RS256 or ES256)"
            )),
        }
    }
}

/// The private half, of either kind.
enum Pair {
    Rsa(KeyPair),
    Ec(EcdsaKeyPair),
}

/// A loaded signing key, ready to sign.
pub struct SigningKey {
    kid: String,
    pair: Pair,
    /// `base64url({"typ":"JWT","alg":…,"x5t":…,"kid":…}).`, computed once.
    header_prefix: String,
    jwk: Jwk,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

/// A public key as published in the JWKS (RFC 7517), Azure AD's fields in
/// its order for RSA (`kty`, `use`, `kid`, `x5t`, `n`, `e`, `x5c`); an EC
/// key has `crv`, `x` and `y` instead of `n` and `e`.
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    pub kid: String,
    pub x5t: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub x5c: Vec<String>,
}

impl SigningKey {
    /// Makes a new key of `alg`'s kind (RSA-2048 or P-256) and a
    /// self-signed certificate for it, signing from `now`.
    pub fn generate(now: OffsetDateTime, alg: SigningAlg) -> Result<StoredKey, KeyError> {
        let pkcs8 = match alg {
            SigningAlg::Rs256 => KeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?
                .as_der()
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec(),
            SigningAlg::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| KeyError::Generate)?
                .to_pkcs8v1()
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec(),
        };
        let cert_key = rcgen::KeyPair::try_from(pkcs8.as_slice())?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Latchkey token signing");
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(5 * 365);
        let cert = params.self_signed(&cert_key)?;
        let certificate = cert.der().to_vec();
        let kid = thumbprint(&certificate);
        Ok(StoredKey {
            kid,
            alg,
            pkcs8,
            certificate,
            created_at: now.unix_timestamp(),
            activates_at: now.unix_timestamp(),
        })
    }

    /// Loads a key kept in the store.
    pub fn load(stored: &StoredKey) -> Result<SigningKey, KeyError> {
        let unreadable = || KeyError::Unreadable {
            kid: stored.kid.clone(),
        };
        let x5t = thumbprint(&stored.certificate);
        let mut jwk = Jwk {
            kty: "RSA",
            use_: "sig",
            crv: None,
            kid: stored.kid.clone(),
            x5t: x5t.clone(),
            n: None,
            e: None,
            x: None,
            y: None,
            x5c: vec![STANDARD.encode(&stored.certificate)],
        };
        let pair = match stored.alg {
            SigningAlg::Rs256 => {
                let key_pair = KeyPair::from_pkcs8(&stored.pkcs8).map_err(|_| unreadable())?;
                let components = PublicKeyComponents::<Vec<u8>>::from(key_pair.public_key());
                jwk.n = Some(URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.n)));
                jwk.e = Some(URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.e)));
                Pair::Rsa(key_pair)
            }
            SigningAlg::Es256 => {
                let key_pair =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &stored.pkcs8)
                        .map_err(|_| unreadable())?;
                // The uncompressed point: 04 || x || y.
                let point = key_pair.public_key().as_ref();
                if point.len() != 65 {
                    return Err(unreadable());
                }
                jwk.kty = "EC";
                jwk.crv = Some("P-256");
                jwk.x = Some(URL_SAFE_NO_PAD.encode(&point[1..33]));
                jwk.y = Some(URL_SAFE_NO_PAD.encode(&point[33..]));
                Pair::Ec(key_pair)
            }
        };
        // Azure AD's header, in its order; kid and x5t are base64url, so
        // nothing in them needs JSON escaping.
        let header = format!(
            r#"{{"typ":"JWT","alg":"{}","x5t":"{x5t}","kid":"{}"}}"#,
            stored.alg, stored.kid
        );
        let header_prefix = format!("{}.", URL_SAFE_NO_PAD.encode(header));
        Ok(SigningKey {
            kid: stored.kid.clone(),
            pair,
            header_prefix,
            jwk,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with, which its kind decides.
    pub fn alg(&self) -> SigningAlg {
        match self.pair {
            Pair::Rsa(_) => SigningAlg::Rs256,
            Pair::Ec(_) => SigningAlg::Es256,
        }
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Signs `claims` as a compact JWS (RFC 7515) with the key's algorithm.
    pub fn sign_jwt<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        let mut jwt = String::with_capacity(self.header_prefix.len() + payload.len() * 4 / 3 + 350);
        jwt.push_str(&self.header_prefix);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
        match &self.pair {
            Pair::Rsa(key_pair) => {
                let mut signature = vec![0u8; key_pair.public_modulus_len()];
                key_pair
                    .sign(&RSA_PKCS1_SHA256, &self.rng, jwt.as_bytes(), &mut signature)
                    .map_err(|_| KeyError::Sign)?;
                jwt.push('.');
                URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
            }
            Pair::Ec(key_pair) => {
                // FIXED: the JWS form (RFC 7518 §3.4), r || s, 64 bytes.
                let signature = key_pair
                    .sign(&self.rng, jwt.as_bytes())
                    .map_err(|_| KeyError::Sign)?;
                jwt.push('.');
                URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jwt);
            }
        }
        crate::telemetry::signed(self.alg().as_str());
        Ok(jwt)
    }

    /// Whether `signature` is this key's signature of `signed` under `alg`:
    /// for tokens this server issued coming back to it (`id_token_hint`,
    /// an on-behalf-of assertion). An `alg` that is not the key's own never
    /// verifies.
    pub fn verifies(&self, alg: &str, signed: &[u8], signature: &[u8]) -> bool {
        if alg != self.alg().as_str() {
            return false;
        }
        match &self.pair {
            Pair::Rsa(key_pair) => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key_pair.public_key().as_ref())
                    .verify(signed, signature)
                    .is_ok()
            }
            Pair::Ec(key_pair) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key_pair.public_key().as_ref())
                    .verify(signed, signature)
                    .is_ok()
            }
        }
    }
}

/// base64url(SHA-1(certificate DER)): Azure AD's `x5t`, and its `kid`.
fn thumbprint(certificate_der: &[u8]) -> String {
    let digest = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, certificate_der);
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::RsaPublicKeyComponents;

    fn header_of(jwt: &str) -> serde_json::Value {
        serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_signed_token_verifies_with_the_published_jwk() {
        let stored = SigningKey::generate(OffsetDateTime::now_utc(), SigningAlg::Rs256).unwrap();
        let key = SigningKey::load(&stored).unwrap();
        let jwt = key.sign_jwt(&serde_json::json!({"aud": "x"})).unwrap();
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let n = URL_SAFE_NO_PAD
            .decode(key.jwk().n.as_ref().unwrap())
            .unwrap();
        let e = URL_SAFE_NO_PAD
            .decode(key.jwk().e.as_ref().unwrap())
            .unwrap();
        assert_eq!(e, [1, 0, 1]);
        let public = RsaPublicKeyComponents { n: &n, e: &e };
        public
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .unwrap();
        let header = header_of(&jwt);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], key.kid());
        assert_eq!(header["x5t"], key.jwk().x5t);
    }

    #[test]
    fn an_es256_token_verifies_with_the_published_ec_jwk_and_only_as_es256() {
        let stored = SigningKey::generate(OffsetDateTime::now_utc(), SigningAlg::Es256).unwrap();
        let key = SigningKey::load(&stored).unwrap();
        let jwt = key.sign_jwt(&serde_json::json!({"aud": "x"})).unwrap();
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert_eq!(signature.len(), 64, "r || s");
        let jwk = key.jwk();
        let mut point = vec![4];
        point.extend(URL_SAFE_NO_PAD.decode(jwk.x.as_ref().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk.y.as_ref().unwrap()).unwrap());
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(signed.as_bytes(), &signature)
            .unwrap();
        assert_eq!(
            String::from_utf8(
                URL_SAFE_NO_PAD
                    .decode(jwt.split('.').next().unwrap())
                    .unwrap()
            )
            .unwrap(),
            format!(
                r#"{{"typ":"JWT","alg":"ES256","x5t":"{}","kid":"{}"}}"#,
                jwk.x5t,
                key.kid()
            )
        );
        assert!(key.verifies("ES256", signed.as_bytes(), &signature));
        assert!(!key.verifies("RS256", signed.as_bytes(), &signature));
        // Loading it again (another replica) gives the same public key.
        let again = SigningKey::load(&stored).unwrap();
        assert_eq!(again.jwk().x, jwk.x);
    }
}
