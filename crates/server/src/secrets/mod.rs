//! Client secrets and user passwords.
//!
//! Client secrets are high-entropy (≥ 128 bits, checked at load), so one
//! SHA-256 is as strong as a slow hash and costs nothing on the hot path;
//! they are compared in constant time. User passwords are low-entropy and
//! get Argon2id. The second factor's codes are in `totp`. `MacKey` tags
//! what the server hands out and must recognise (the pages' CSRF tokens).

mod totp;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

pub use totp::totp_step;

/// The shortest client secret accepted: 32 characters, as docs/spec/design.md fixes.
pub const MIN_SECRET_LEN: usize = 32;

/// A SHA-256 digest of a client secret or a refresh token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digest(…)")
    }
}

impl Digest {
    pub fn of(secret: &str) -> Digest {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
        Digest(out)
    }

    /// Constant-time: a timing difference must not reveal a prefix.
    pub fn matches(&self, presented: &str) -> bool {
        Digest::of(presented).0.ct_eq(&self.0).into()
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Digest> {
        Some(Digest(bytes.try_into().ok()?))
    }
}

/// The operating system's random number generator (or the password hash
/// built on it) failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RngError;

/// `bytes` random bytes, base64url: used for client secrets (32 bytes) and
/// refresh tokens.
pub fn random_token(bytes: usize) -> Result<String, RngError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(bytes)?))
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, RngError> {
    let mut buf = vec![0u8; n];
    SystemRandom::new().fill(&mut buf).map_err(|_| RngError)?;
    Ok(buf)
}

/// An HMAC-SHA256 key, shared by every replica through the store.
pub struct MacKey(hmac::Key);

impl MacKey {
    pub fn new(key: &[u8]) -> MacKey {
        MacKey(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    /// The tag of `message`, base64url.
    pub fn tag(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, message.as_bytes()))
    }

    /// Whether `presented` is the tag of `message` (constant time).
    pub fn verify(&self, message: &str, presented: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(presented)
            .is_ok_and(|tag| hmac::verify(&self.0, message.as_bytes(), &tag).is_ok())
    }
}

/// Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), which
/// are the argon2 crate's defaults.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes a password into a PHC string.
pub fn hash_password(password: &str) -> Result<String, RngError> {
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).map_err(|_| RngError)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| RngError)?;
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| RngError)?;
    Ok(hash.to_string())
}

/// A PHC string of Argon2id that can be verified (not only one that looks like it).
pub fn is_argon2id_phc(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        parsed.algorithm.as_str() == "argon2id"
            && parsed.hash.is_some()
            && argon2::Params::try_from(&parsed).is_ok()
    })
}

/// Checks a password against a PHC string. With no stored hash (unknown
/// user) it still spends the same time, so response times do not tell which
/// user names exist.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let decoy = DECOY.get_or_init(|| hash_password("latchkey decoy password").unwrap_or_default());
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (decoy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_themselves() {
        let digest = Digest::of("correct horse battery staple, long enough");
        assert!(digest.matches("correct horse battery staple, long enough"));
        assert!(!digest.matches("correct horse battery staple, long enougH"));
        assert!(!digest.matches(""));
    }

    #[test]
    fn passwords_verify_and_unknown_users_never_do() {
        let phc = hash_password("hunter2hunter2").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("hunter2hunter2", Some(&phc)));
        assert!(!verify_password("hunter2hunter3", Some(&phc)));
        assert!(!verify_password("latchkey decoy password", None));
    }

    #[test]
    fn random_tokens_carry_enough_entropy() {
        let token = random_token(32).unwrap();
        assert_eq!(token.len(), 43);
        assert_ne!(token, random_token(32).unwrap());
    }
}
