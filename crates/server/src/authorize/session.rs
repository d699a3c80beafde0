//! Cookies: the sign-in session and the CSRF token of the forms.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use crate::secrets::Digest;

pub const SESSION_COOKIE: &str = "lk_session";
pub const CSRF_COOKIE: &str = "lk_csrf";

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A cookie only this server reads: HttpOnly, on every path, and Secure
/// when the server is reached over https.
pub struct ServerCookie<'a> {
    pub name: &'static str,
    /// A base64url token: nothing a cookie value cannot carry.
    pub value: &'a str,
    pub same_site: SameSite,
    /// `None`: a session cookie, gone when the browser closes.
    pub max_age_seconds: Option<u64>,
    pub secure: bool,
}

impl ServerCookie<'_> {
    /// The `Set-Cookie` value; `None` if the value could not be a header.
    pub fn header(&self) -> Option<HeaderValue> {
        let mut cookie = Cookie::build((self.name, self.value))
            .path("/")
            .http_only(true)
            .same_site(self.same_site)
            .secure(self.secure);
        if let Some(seconds) = self.max_age_seconds {
            let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
            cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
        }
        HeaderValue::from_str(&cookie.build().to_string()).ok()
    }
}

/// The digest a session is stored under.
pub fn session_digest(value: &str) -> Digest {
    Digest::of(value)
}

/// Whether the form's CSRF field matches the cookie (constant time).
pub fn csrf_matches(cookie_value: Option<&str>, field: Option<&str>) -> bool {
    match (cookie_value, field) {
        (Some(cookie_value), Some(field)) => Digest::of(cookie_value).matches(field),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lk_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, "lk_session"), Some("abc"));
        assert_eq!(cookie(&headers, "lk_csrf"), None);
        assert!(csrf_matches(Some("t"), Some("t")));
        assert!(!csrf_matches(Some("t"), Some("u")));
        assert!(!csrf_matches(None, Some("t")));
    }

    #[test]
    fn set_cookie_bytes() {
        let session = ServerCookie {
            name: SESSION_COOKIE,
            value: "abc",
            same_site: SameSite::Lax,
            max_age_seconds: Some(28800),
            secure: true,
        };
        assert_eq!(
            session.header().unwrap(),
            "lk_session=abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=28800"
        );
        let csrf = ServerCookie {
            name: CSRF_COOKIE,
            value: "t",
            same_site: SameSite::Strict,
            max_age_seconds: None,
            secure: false,
        };
        assert_eq!(
            csrf.header().unwrap(),
            "lk_csrf=t; HttpOnly; SameSite=Strict; Path=/"
        );
    }
}
