//! The RS256 signing key: made on first start, kept in the store, published
//! as a JWK with `kid` and `x5t` (both the certificate's SHA-1 thumbprint,
//! as Azure AD does), and used to sign access tokens.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::store::StoredKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RSA key generation failed")]
    Generate,
    #[error("the stored signing key {kid} cannot be read")]
    Unreadable { kid: String },
    #[error("making the key's certificate failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("signing failed")]
    Sign,
}

/// A loaded signing key, ready to sign.
pub struct SigningKey {
    kid: String,
    key_pair: KeyPair,
    /// `base64url({"typ":"JWT","alg":"RS256","x5t":…,"kid":…}).`, computed once.
    header_prefix: String,
    jwk: Jwk,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public key as published in the JWKS (RFC 7517), Azure AD's fields.
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub kid: String,
    pub x5t: String,
    pub n: String,
    pub e: String,
    pub x5c: Vec<String>,
}

impl SigningKey {
    /// Makes a new RSA-2048 key and a self-signed certificate for it.
    pub fn generate(now: OffsetDateTime) -> Result<StoredKey, KeyError> {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let pkcs8 = key_pair
            .as_der()
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec();
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
        let key_pair = KeyPair::from_pkcs8(&stored.pkcs8).map_err(|_| unreadable())?;
        let components = PublicKeyComponents::<Vec<u8>>::from(key_pair.public_key());
        let x5t = thumbprint(&stored.certificate);
        // Azure AD's header, in its order; kid and x5t are base64url, so
        // nothing in them needs JSON escaping.
        let header = format!(
            r#"{{"typ":"JWT","alg":"RS256","x5t":"{x5t}","kid":"{}"}}"#,
            stored.kid
        );
        let header_prefix = format!("{}.", URL_SAFE_NO_PAD.encode(header));
        let jwk = Jwk {
            kty: "RSA",
            use_: "sig",
            kid: stored.kid.clone(),
            x5t,
            n: URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.n)),
            e: URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.e)),
            x5c: vec![STANDARD.encode(&stored.certificate)],
        };
        Ok(SigningKey {
            kid: stored.kid.clone(),
            key_pair,
            header_prefix,
            jwk,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Signs `claims` as a compact JWS (RFC 7515) with RS256.
    pub fn sign_jwt<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        let mut jwt = String::with_capacity(self.header_prefix.len() + payload.len() * 4 / 3 + 350);
        jwt.push_str(&self.header_prefix);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
        let mut signature = vec![0u8; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, jwt.as_bytes(), &mut signature)
            .map_err(|_| KeyError::Sign)?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
        Ok(jwt)
    }

    /// Whether `signature` is this key's RS256 signature of `signed`: for
    /// tokens this server issued coming back to it (`id_token_hint`).
    pub fn verifies(&self, signed: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            self.key_pair.public_key().as_ref(),
        )
        .verify(signed, signature)
        .is_ok()
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

    #[test]
    fn a_signed_token_verifies_with_the_published_jwk() {
        let stored = SigningKey::generate(OffsetDateTime::now_utc()).unwrap();
        let key = SigningKey::load(&stored).unwrap();
        let jwt = key.sign_jwt(&serde_json::json!({"aud": "x"})).unwrap();
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let n = URL_SAFE_NO_PAD.decode(&key.jwk().n).unwrap();
        let e = URL_SAFE_NO_PAD.decode(&key.jwk().e).unwrap();
        assert_eq!(e, [1, 0, 1]);
        let public = RsaPublicKeyComponents { n: &n, e: &e };
        public
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], key.kid());
        assert_eq!(header["x5t"], key.jwk().x5t);
    }
}

/// Every key in the store, and which of them signs and which are published
/// at a given time. Rotation is data, not process state: a key signs from
/// its `activates_at`, so replicas that have loaded it switch together; it
/// is published from the moment it is loaded, so resource servers hold it
/// before the first token it signs; a key stays published until `grace`
/// after its successor started signing (every token it signed has expired
/// by then), then it is retired: kept in the store, no longer published.
pub struct KeyRing {
    /// When each key signs, in signing order (see `sort_key_times`)…
    times: Vec<KeyTimes>,
    /// …and the keys themselves, in the same order.
    keys: Vec<Arc<SigningKey>>,
}

/// When a key was made and when it signs from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyTimes {
    kid: String,
    created_at: i64,
    activates_at: i64,
}

impl KeyTimes {
    fn of(key: &StoredKey) -> KeyTimes {
        KeyTimes {
            kid: key.kid.clone(),
            created_at: key.created_at,
            activates_at: key.activates_at,
        }
    }
}

impl KeyRing {
    /// Loads `stored`, reusing the already-parsed keys of `previous`.
    pub fn load(stored: &[StoredKey], previous: Option<&KeyRing>) -> Result<KeyRing, KeyError> {
        let mut sorted: Vec<&StoredKey> = stored.iter().collect();
        sorted.sort_by(|a, b| signing_order(&KeyTimes::of(a), &KeyTimes::of(b)));
        let mut keys = Vec::with_capacity(sorted.len());
        for key in &sorted {
            let known = previous.and_then(|ring| {
                ring.times
                    .iter()
                    .position(|t| t.kid == key.kid)
                    .map(|i| ring.keys[i].clone())
            });
            keys.push(match known {
                Some(loaded) => loaded,
                None => Arc::new(SigningKey::load(key)?),
            });
        }
        if keys.is_empty() {
            return Err(KeyError::Generate);
        }
        let times = sorted.into_iter().map(KeyTimes::of).collect();
        Ok(KeyRing { times, keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.times.iter().any(|t| t.kid == kid)
    }

    /// The key that signs at `now`.
    pub fn signing(&self, now: i64) -> Arc<SigningKey> {
        self.keys[signing_index(&self.times, now)].clone()
    }

    /// The keys published at `now`, in the order they sign.
    pub fn published(&self, now: i64, grace: i64) -> Vec<Arc<SigningKey>> {
        published_indices(&self.times, now, grace)
            .into_iter()
            .map(|i| self.keys[i].clone())
            .collect()
    }

    /// What each key does at `now`, in signing order.
    pub fn statuses(&self, now: i64, grace: i64) -> Vec<(&str, KeyStatus)> {
        let signing = signing_index(&self.times, now);
        self.times
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let status = match (i.cmp(&signing), self.times.get(i + 1)) {
                    (std::cmp::Ordering::Equal, _) => KeyStatus::Signing,
                    (std::cmp::Ordering::Greater, _) => KeyStatus::Pending {
                        signs_from: key.activates_at,
                    },
                    (std::cmp::Ordering::Less, Some(next)) => {
                        let retired_at = next.activates_at.saturating_add(grace);
                        if now < retired_at {
                            KeyStatus::Superseded {
                                at: next.activates_at,
                                retired_at,
                            }
                        } else {
                            KeyStatus::Retired { at: retired_at }
                        }
                    }
                    // A key before the signing one always has a successor.
                    (std::cmp::Ordering::Less, None) => KeyStatus::Signing,
                };
                (key.kid.as_str(), status)
            })
            .collect()
    }
}

/// What a key does at a given time (Unix seconds in each variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Published, signing from `signs_from`.
    Pending { signs_from: i64 },
    /// Signing new tokens.
    Signing,
    /// Replaced `at`; published until `retired_at` for the tokens it signed.
    Superseded { at: i64, retired_at: i64 },
    /// No longer published since `at`; kept in the store.
    Retired { at: i64 },
}

fn signing_order(a: &KeyTimes, b: &KeyTimes) -> std::cmp::Ordering {
    (a.activates_at, a.created_at, &a.kid).cmp(&(b.activates_at, b.created_at, &b.kid))
}

/// Of keys in signing order, the last one active at `now`; the first one
/// when none is yet (it cannot be: the first key signs from its creation).
fn signing_index(keys: &[KeyTimes], now: i64) -> usize {
    keys.iter()
        .rposition(|k| k.activates_at <= now)
        .unwrap_or(0)
}

/// Pending keys, the signing key, and each key superseded less than
/// `grace` ago.
fn published_indices(keys: &[KeyTimes], now: i64, grace: i64) -> Vec<usize> {
    let signing = signing_index(keys, now);
    (0..keys.len())
        .filter(|&i| {
            i >= signing
                || keys
                    .get(i + 1)
                    .is_some_and(|next| now < next.activates_at.saturating_add(grace))
        })
        .collect()
}

#[cfg(test)]
mod ring_tests {
    use super::*;

    fn times(kid: &str, activates_at: i64) -> KeyTimes {
        KeyTimes {
            kid: kid.into(),
            created_at: activates_at - 100,
            activates_at,
        }
    }

    #[test]
    fn a_rotation_from_announcement_to_retirement() {
        let (k1, k2) = (times("k1", 0), times("k2", 1000));
        let keys = [k1, k2];
        let grace = 3600 + 60;
        // Announced: k2 is published, k1 still signs.
        assert_eq!(signing_index(&keys, 500), 0);
        assert_eq!(published_indices(&keys, 500, grace), [0, 1]);
        // Active: k2 signs; k1 stays published for its tokens.
        assert_eq!(signing_index(&keys, 1000), 1);
        assert_eq!(published_indices(&keys, 1000, grace), [0, 1]);
        assert_eq!(published_indices(&keys, 1000 + grace - 1, grace), [0, 1]);
        // Retired: every token k1 signed has expired.
        assert_eq!(published_indices(&keys, 1000 + grace, grace), [1]);
    }

    #[test]
    fn back_to_back_rotations_retire_each_key_after_its_own_successor() {
        let (k1, k2, k3) = (times("k1", 0), times("k2", 100), times("k3", 200));
        let keys = [k1, k2, k3];
        assert_eq!(signing_index(&keys, 250), 2);
        assert_eq!(published_indices(&keys, 250, 120), [1, 2]);
        assert_eq!(published_indices(&keys, 150, 120), [0, 1, 2]);
        assert_eq!(published_indices(&keys, 330, 120), [2]);
    }

    #[test]
    fn each_key_says_what_it_does() {
        let ring = KeyRing {
            times: vec![times("k1", 0), times("k2", 1000), times("k3", 5000)],
            keys: Vec::new(),
        };
        let grace = 100;
        assert_eq!(
            ring.statuses(1050, grace),
            [
                (
                    "k1",
                    KeyStatus::Superseded {
                        at: 1000,
                        retired_at: 1100
                    }
                ),
                ("k2", KeyStatus::Signing),
                ("k3", KeyStatus::Pending { signs_from: 5000 }),
            ]
        );
        assert_eq!(
            ring.statuses(1100, grace)[0],
            ("k1", KeyStatus::Retired { at: 1100 })
        );
    }

    #[test]
    fn a_pending_key_never_signs_early() {
        let (k1, k2) = (times("k1", 0), times("k2", 1_000_000));
        assert_eq!(signing_index(&[k1, k2], 999_999), 0);
    }
}
