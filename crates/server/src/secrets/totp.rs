//! Time-based one-time passwords (RFC 6238), the second factor.

use totp_rs::{Algorithm, Secret, TOTP};

/// RFC 6238 with the authenticator-app defaults (SHA-1, 6 digits, 30 s),
/// one step of clock skew either way, at `now` (Unix seconds).
pub fn totp_matches(secret: Option<&str>, code: &str, now: u64) -> bool {
    let Some(secret) = secret else { return false };
    let Ok(bytes) = Secret::Encoded(secret.trim_end_matches('=').to_owned()).to_bytes() else {
        return false;
    };
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes);
    code.len() == 6 && totp.check(code, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_codes_check_against_the_secret() {
        let secret = "JBSWY3DPEHPK3PXP";
        let totp = TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            1,
            30,
            Secret::Encoded(secret.into()).to_bytes().unwrap(),
        );
        let now = 1_700_000_000;
        let current = totp.generate(now);
        assert!(totp_matches(Some(secret), &current, now));
        assert!(
            totp_matches(Some(secret), &current, now + 30),
            "one step of skew"
        );
        assert!(!totp_matches(Some(secret), &current, now + 90));
        let wrong = if current == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert!(!totp_matches(Some(secret), wrong, now));
        assert!(!totp_matches(None, &current, now));
    }
}
