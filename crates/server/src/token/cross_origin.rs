//! Cross-origin token requests, as Azure AD decides them. A browser sends
//! `Origin` with every token request it makes for a page; a server-side
//! client sends none. So:
//!
//! - a code or refresh token issued to a single-page-application redirect
//!   URI is redeemed only with an `Origin`, and only that redirect URI's
//!   (AADSTS9002327 without one; another origin is refused, since a page of
//!   another site holding the code is exactly what must not get tokens);
//! - everything else (a web or native app's code or refresh token, the
//!   password and client-credentials grants, and every request to the v1
//!   endpoint, which has no single-page-application platform) is refused
//!   when it comes with an `Origin` (AADSTS9002326), before anything is
//!   spent.
//!
//! The v2.0 endpoint answers CORS for every origin (`cors::token`), so
//! a page can read these refusals; success to a cross-origin request only
//! ever comes out of the first case.

use axum::http::{HeaderMap, header};
use latchkey_protocol::Aadsts;

/// The request's `Origin`, if it has one (as sent; an undecodable one
/// reads lossily and matches no redirect URI).
pub fn request_origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Whether a grant issued to `issued_to` (an SPA redirect URI's origin, or
/// `None` for any other) may be redeemed by a request from `origin`.
pub fn check_origin(issued_to: Option<&str>, origin: Option<&str>) -> Result<(), Aadsts> {
    match (issued_to, origin) {
        (None, None) => Ok(()),
        (None, Some(origin)) => Err(Aadsts::CrossOriginNotSpa {
            origin: origin.to_owned(),
        }),
        (Some(_), None) => Err(Aadsts::SpaRequiresCrossOrigin),
        (Some(expected), Some(origin)) if expected.eq_ignore_ascii_case(origin) => Ok(()),
        (Some(expected), Some(origin)) => Err(Aadsts::SpaOriginMismatch {
            origin: origin.to_owned(),
            expected: expected.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_spa_grant_from_its_own_origin_passes_cross_origin() {
        let spa = Some("http://localhost:3000");
        assert_eq!(check_origin(None, None), Ok(()));
        assert_eq!(check_origin(spa, Some("http://localhost:3000")), Ok(()));
        assert_eq!(check_origin(spa, None), Err(Aadsts::SpaRequiresCrossOrigin));
        assert_eq!(
            check_origin(None, Some("http://localhost:3000")),
            Err(Aadsts::CrossOriginNotSpa {
                origin: "http://localhost:3000".into()
            })
        );
        assert_eq!(
            check_origin(spa, Some("http://localhost:3001")),
            Err(Aadsts::SpaOriginMismatch {
                origin: "http://localhost:3001".into(),
                expected: "http://localhost:3000".into()
            })
        );
        assert!(check_origin(spa, Some("null")).is_err());
    }
}
