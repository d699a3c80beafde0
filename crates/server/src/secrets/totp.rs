//! Time-based one-time passwords (RFC 6238), the second factor.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

const STEP_SECONDS: u64 = 30;

/// RFC 6238 with the authenticator-app defaults (SHA-1, 6 digits, 30 s),
/// one step of clock skew either way, at `now` (Unix seconds): the time
/// step (`t / 30`) `code` is the code of, if it is one of those three.
/// The caller remembers the step, so that a code is accepted once.
pub fn totp_step(secret: Option<&str>, code: &str, now: u64) -> Option<u64> {
    let secret = secret?;
    let bytes = Secret::Encoded(secret.trim_end_matches('=').to_owned())
        .to_bytes()
        .ok()?;
    if code.len() != 6 {
        return None;
    }
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP_SECONDS, bytes);
    let current = now / STEP_SECONDS;
    // Every candidate is compared, in constant time, whichever matches.
    let mut matched = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
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
        let step = now / 30;
        let current = totp.generate(now);
        assert_eq!(totp_step(Some(secret), &current, now), Some(step));
        assert_eq!(
            totp_step(Some(secret), &current, now + 30),
            Some(step),
            "one step of skew"
        );
        assert_eq!(totp_step(Some(secret), &current, now + 90), None);
        let wrong = if current == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_eq!(totp_step(Some(secret), wrong, now), None);
        assert_eq!(totp_step(None, &current, now), None);
    }
}
