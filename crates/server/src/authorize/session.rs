//! Cookies: the sign-in session and the CSRF token of the forms.

use axum::http::{HeaderMap, HeaderValue, header};

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

/// `Set-Cookie` for a cookie only this server reads: HttpOnly, and Secure
/// when the server is reached over https.
pub fn set_cookie(
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<u64>,
    secure: bool,
) -> Option<HeaderValue> {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(seconds) = max_age {
        text.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).ok()
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
}
