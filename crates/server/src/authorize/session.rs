//! The browser's session and the CSRF tokens of the pages.
//!
//! Cookies: the session and, before sign-in, a pre-session (SameSite=Strict) that
//! the forms' CSRF tokens are bound to. Over https both are `__Host-`
//! cookies (Secure, Path=/, no Domain), which neither a sibling subdomain
//! nor a plain-http page can set; browsers refuse the prefix without
//! Secure, so over http the names are plain. The session cookie is
//! `SameSite=None` over https, as Azure AD's session cookies are: silent
//! sign-in (`prompt=none` in a hidden iframe of the app's page, MSAL's
//! `ssoSilent`) is a cross-site request, which a `Lax` cookie never
//! joins. Over http browsers refuse `None` without `Secure`, so it is
//! `Lax` there (the client's top-level redirect here still carries it);
//! silent SSO then needs https (`--tls-self-signed`). The forms stay
//! safe either way: their CSRF tokens are bound to the cookie by a MAC.
//!
//! A form's CSRF token is HMAC(key, the session cookie), or of the
//! pre-session cookie when there is no session: a token learned in one
//! browser or for one session is refused with any other cookie, and a
//! cookie and field an attacker plants together never match without the
//! key. The session id changes at every step that raises what it proves
//! (password, second factor): the old record is deleted, a new cookie set,
//! and the pre-session ends at sign-in. Signing in deletes whatever session
//! the browser held, whoever's it was.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use super::steps::Flow;
use crate::ProtocolError;
use crate::directory::User;
use crate::secrets::{Digest, MacKey, random_token};
use crate::store::SessionRecord;

/// The cookies' names over https and over http.
struct Names {
    session: &'static str,
    pre_session: &'static str,
}

fn names(secure: bool) -> Names {
    if secure {
        Names {
            session: "__Host-lk_session",
            pre_session: "__Host-lk_presession",
        }
    } else {
        Names {
            session: "lk_session",
            pre_session: "lk_presession",
        }
    }
}

/// The session cookie's name.
pub(crate) fn session_cookie_name(secure: bool) -> &'static str {
    names(secure).session
}

/// The session cookie's SameSite: see the module's documentation.
fn session_same_site(secure: bool) -> SameSite {
    if secure {
        SameSite::None
    } else {
        SameSite::Lax
    }
}

/// The `Set-Cookie` that removes the session cookie (sign-out).
pub(crate) fn ended_session_cookie(secure: bool) -> Option<HeaderValue> {
    ServerCookie {
        name: session_cookie_name(secure),
        value: "",
        same_site: session_same_site(secure),
        max_age_seconds: Some(0),
        secure,
    }
    .header()
}

/// The form field carrying the CSRF token.
const CSRF_FIELD: &str = "lk_csrf";

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

/// What a form's CSRF token is bound to.
enum Binding<'a> {
    Session(&'a str),
    PreSession(&'a str),
}

impl Binding<'_> {
    /// The message the token tags: which cookie, and its value.
    fn message(&self) -> String {
        match self {
            Binding::Session(value) => format!("session\n{value}"),
            Binding::PreSession(value) => format!("pre-session\n{value}"),
        }
    }

    fn csrf_token(&self, key: &MacKey) -> String {
        key.tag(&self.message())
    }
}

/// The browser's binding: its session cookie when it has one (even one no
/// longer valid: the token still names that cookie), else its pre-session.
fn binding(headers: &HeaderMap, secure: bool) -> Option<Binding<'_>> {
    let names = names(secure);
    cookie(headers, names.session)
        .map(Binding::Session)
        .or_else(|| cookie(headers, names.pre_session).map(Binding::PreSession))
}

/// Whether `field` is the CSRF token of the browser's binding.
fn csrf_matches(key: &MacKey, headers: &HeaderMap, secure: bool, field: Option<&str>) -> bool {
    match (binding(headers, secure), field) {
        (Some(binding), Some(field)) => key.verify(&binding.message(), field),
        _ => false,
    }
}

impl Flow<'_> {
    fn secure(&self) -> bool {
        self.target.secure_cookies
    }

    /// The session cookie's value, if the browser sent one.
    pub(super) fn session_cookie(&self) -> Option<&str> {
        cookie(self.headers, names(self.secure()).session)
    }

    /// The CSRF token for a form page, and the pre-session cookie to set
    /// when the browser has neither cookie yet.
    pub(super) fn page_csrf(&self) -> Result<(String, Option<HeaderValue>), ProtocolError> {
        let key = &self.state.csrf_key;
        if let Some(binding) = binding(self.headers, self.secure()) {
            return Ok((binding.csrf_token(key), None));
        }
        let pre_session = random_token(32)?;
        let csrf = Binding::PreSession(&pre_session).csrf_token(key);
        let set_cookie = ServerCookie {
            name: names(self.secure()).pre_session,
            value: &pre_session,
            same_site: SameSite::Strict,
            max_age_seconds: None,
            secure: self.secure(),
        }
        .header()
        .ok_or_else(|| ProtocolError::internal("the pre-session cookie is not a header value"))?;
        Ok((csrf, Some(set_cookie)))
    }

    pub(super) fn csrf_ok(&self) -> bool {
        csrf_matches(
            &self.state.csrf_key,
            self.headers,
            self.secure(),
            self.params.first(CSRF_FIELD),
        )
    }

    fn session_set_cookie(&self, token: &str, lifetime: u64) -> Result<HeaderValue, ProtocolError> {
        ServerCookie {
            name: names(self.secure()).session,
            value: token,
            same_site: session_same_site(self.secure()),
            max_age_seconds: Some(lifetime),
            secure: self.secure(),
        }
        .header()
        .ok_or_else(|| ProtocolError::internal("the session cookie is not a header value"))
    }

    /// A new session for `user`, whose password was just checked: the
    /// browser's previous session (anyone's) is deleted and its pre-session
    /// ended. Returns the `Set-Cookie` values.
    pub(super) async fn start_session(
        &self,
        user: &User,
    ) -> Result<Vec<HeaderValue>, ProtocolError> {
        if let Some(old) = self.session_cookie() {
            self.state
                .store
                .delete_session(&session_digest(old))
                .await?;
        }
        let token = random_token(32)?;
        let now = self.ctx.unix_now();
        let lifetime = self.state.config.session_lifetime.as_secs();
        self.state
            .store
            .insert_session(&SessionRecord {
                digest: session_digest(&token),
                tenant_id: self.target.tenant.id,
                user_oid: user.object_id,
                mfa_at: None,
                created_at: now,
                expires_at: now + lifetime as i64,
                client_ids: Vec::new(),
            })
            .await?;
        let mut cookies = vec![self.session_set_cookie(&token, lifetime)?];
        let pre_session = names(self.secure()).pre_session;
        if cookie(self.headers, pre_session).is_some() {
            let ended = ServerCookie {
                name: pre_session,
                value: "",
                same_site: SameSite::Strict,
                max_age_seconds: Some(0),
                secure: self.secure(),
            }
            .header()
            .ok_or_else(|| {
                ProtocolError::internal("the pre-session cookie is not a header value")
            })?;
            cookies.push(ended);
        }
        Ok(cookies)
    }

    /// The session, with its second factor passed at `now`, under a new
    /// id (its lifetime unchanged). `None` if a concurrent request rotated
    /// it first.
    pub(super) async fn raise_session(
        &self,
        session: &SessionRecord,
        now: i64,
    ) -> Result<Option<HeaderValue>, ProtocolError> {
        let token = random_token(32)?;
        let raised = SessionRecord {
            digest: session_digest(&token),
            mfa_at: Some(now),
            ..session.clone()
        };
        if !self
            .state
            .store
            .rotate_session(&session.digest, &raised)
            .await?
        {
            return Ok(None);
        }
        let remaining = u64::try_from(session.expires_at - now).unwrap_or_default();
        Ok(Some(self.session_set_cookie(&token, remaining)?))
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
        assert_eq!(cookie(&headers, "lk_presession"), None);
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_cookie_they_were_made_for() {
        let key = MacKey::new(b"test key");
        let token = Binding::PreSession("p").csrf_token(&key);
        let headers = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_static(value));
            headers
        };
        assert!(csrf_matches(
            &key,
            &headers("lk_presession=p"),
            false,
            Some(&token)
        ));
        // Another pre-session, a session, the https name, a planted pair.
        assert!(!csrf_matches(
            &key,
            &headers("lk_presession=q"),
            false,
            Some(&token)
        ));
        assert!(!csrf_matches(
            &key,
            &headers("lk_presession=p; lk_session=p"),
            false,
            Some(&token)
        ));
        assert!(!csrf_matches(
            &key,
            &headers("lk_presession=p"),
            true,
            Some(&token)
        ));
        assert!(!csrf_matches(
            &key,
            &headers("lk_presession=p"),
            false,
            Some("p")
        ));
        assert!(!csrf_matches(
            &key,
            &headers("lk_presession=p"),
            false,
            None
        ));
        assert!(!csrf_matches(
            &MacKey::new(b"other"),
            &headers("lk_presession=p"),
            false,
            Some(&token)
        ));
    }

    #[test]
    fn set_cookie_bytes() {
        let session = ServerCookie {
            name: names(true).session,
            value: "abc",
            same_site: SameSite::Lax,
            max_age_seconds: Some(28800),
            secure: true,
        };
        assert_eq!(
            session.header().unwrap(),
            "__Host-lk_session=abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=28800"
        );
        let pre_session = ServerCookie {
            name: names(false).pre_session,
            value: "t",
            same_site: SameSite::Strict,
            max_age_seconds: None,
            secure: false,
        };
        assert_eq!(
            pre_session.header().unwrap(),
            "lk_presession=t; HttpOnly; SameSite=Strict; Path=/"
        );
    }
}
