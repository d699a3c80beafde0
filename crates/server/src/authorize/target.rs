//! The trusted redirect target: a client and a redirect URI known to be
//! genuine, and how a response reaches them. Nothing is ever sent to a
//! redirect URI before `Target::find` has matched it against the client's
//! registration (RFC 6749 §3.1.2.4, §4.1.2.1; RFC 9700 §4.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{
    Aadsts, Profile, ResponseMode, Version, error_params, is_absolute_uri, redirect_location,
};

use super::pages;
use super::params::Params;
use crate::ProtocolError;
use crate::context::RequestContext;
use crate::directory::{App, Tenant, TenantRef};
use crate::secrets::random_token;
use crate::sign_in_log::SignIn;
use crate::state::AppState;

/// A client and a redirect URI that are known to be genuine: from here on
/// the response goes to the client.
pub struct Target<'a> {
    pub tenant: &'a Tenant,
    pub tenant_segment: &'a str,
    pub app: &'a App,
    pub redirect_uri: String,
    /// The redirect URI's origin when it is of the single-page-application
    /// kind: its code may be redeemed only cross-origin, from there.
    pub spa_origin: Option<String>,
    mode: ResponseMode,
    /// An unknown `response_mode`, reported (by query) once trust is settled.
    pub mode_error: Option<Aadsts>,
    state: Option<String>,
    profile: Profile,
    pub secure_cookies: bool,
    pub version: Version,
}

impl<'a> Target<'a> {
    pub fn find(
        state: &'a AppState,
        tenant: TenantRef<'a>,
        tenant_segment: &'a str,
        params: &Params,
        version: Version,
    ) -> Result<Target<'a>, Aadsts> {
        // A repeated client_id, redirect_uri or state: which one is meant?
        let client_id = params
            .get("client_id")?
            .ok_or(Aadsts::MissingParameter { name: "client_id" })?;
        let requested_uri = params.get("redirect_uri")?;
        let client_state = params.get("state")?.map(str::to_owned);
        let unknown = || Aadsts::UnknownApplication {
            client_id: client_id.to_owned(),
            tenant: tenant_segment.to_owned(),
        };
        let app = state.directory.app(client_id).ok_or_else(unknown)?;
        let tenant = match tenant {
            TenantRef::Tenant(t) if t.id == app.tenant_id => t,
            TenantRef::Tenant(_) => return Err(unknown()),
            TenantRef::Common => state.directory.tenant(app.tenant_id).ok_or_else(unknown)?,
        };
        let redirect_uri = registered_redirect_uri(app, requested_uri)?;
        let spa_origin = app
            .spa_redirect_uris
            .contains(&redirect_uri)
            .then(|| crate::directory::origin_of(&redirect_uri))
            .flatten();
        let (mode, mode_error) = match params.first("response_mode") {
            None => (ResponseMode::Query, None),
            Some(name) => match ResponseMode::parse(name) {
                Some(mode) => (mode, None),
                None => (
                    ResponseMode::Query,
                    Some(Aadsts::UnsupportedResponseMode {
                        response_mode: name.to_owned(),
                    }),
                ),
            },
        };
        Ok(Target {
            tenant,
            tenant_segment,
            app,
            redirect_uri,
            spa_origin,
            mode,
            mode_error,
            state: client_state,
            profile: tenant.profile.unwrap_or(state.config.profile),
            secure_cookies: state.config.public_url.starts_with("https://"),
            version,
        })
    }

    /// The target of a device's sign-in at the device login page: nothing
    /// is ever redirected (the device polls for its tokens), so the page
    /// itself stands where a redirect URI would.
    pub fn device(
        state: &AppState,
        tenant: &'a Tenant,
        tenant_segment: &'a str,
        app: &'a App,
        page: String,
    ) -> Target<'a> {
        Target {
            tenant,
            tenant_segment,
            app,
            redirect_uri: page,
            spa_origin: None,
            mode: ResponseMode::Query,
            mode_error: None,
            state: None,
            profile: tenant.profile.unwrap_or(state.config.profile),
            secure_cookies: state.config.public_url.starts_with("https://"),
            version: Version::V1,
        }
    }

    /// Sends `params` (plus `state`) to the client in the response mode.
    pub fn deliver(&self, mut params: Vec<(&'static str, String)>) -> Result<Response, Aadsts> {
        if let Some(state) = &self.state
            && !params.iter().any(|(name, _)| *name == "state")
        {
            params.push(("state", state.clone()));
        }
        let location = match self.mode {
            ResponseMode::FormPost => {
                let nonce = random_token(16).map_err(|_| Aadsts::ServerError)?;
                return Ok(pages::form_post(&self.redirect_uri, &params, &nonce));
            }
            ResponseMode::Query => redirect_location(&self.redirect_uri, false, &params),
            ResponseMode::Fragment => redirect_location(&self.redirect_uri, true, &params),
        };
        // A registered URI with characters no header can carry.
        let location =
            HeaderValue::from_str(&location).map_err(|_| Aadsts::RedirectUriMalformed)?;
        let mut response = StatusCode::FOUND.into_response();
        let headers = response.headers_mut();
        headers.insert(header::LOCATION, location);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }

    /// An error for the client: `error`, `error_description`, `state`. An
    /// internal error's detail goes to the log only. When even the error
    /// cannot be delivered, the error page says so, never a redirect.
    pub fn refuse(&self, state: &AppState, ctx: &RequestContext, error: ProtocolError) -> Response {
        let condition = error.condition();
        match error.internal_detail() {
            Some(detail) => tracing::error!(
                trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id,
                detail, "authorization failed"
            ),
            None => tracing::info!(
                trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id,
                error = %condition.error_code(), aadsts = condition.number(), "authorization request refused"
            ),
        }
        let mut response = match self.deliver(error_params(condition, &ctx.ids, self.profile, None))
        {
            Ok(mut response) => {
                let refused = crate::telemetry::Refused(condition.spec());
                response.extensions_mut().insert(refused);
                response
            }
            Err(undeliverable) => super::error_page(state, ctx, Some(self.profile), undeliverable),
        };
        self.note_sign_in(&mut response, None);
        if response
            .extensions()
            .get::<SignIn>()
            .is_some_and(|s| s.refused.is_none())
        {
            SignIn::refuse(&mut response, condition, error.injected());
        }
        response
    }

    /// Notes the client and tenant (and the user, when known) of the
    /// response's sign-in, for the log.
    pub fn note_sign_in(&self, response: &mut Response, user: Option<&str>) {
        let sign_in = SignIn::of(response);
        sign_in.tenant = Some(self.tenant.id.to_string());
        sign_in.app = Some(self.app.client_id.to_string());
        if let Some(user) = user {
            sign_in.user = Some(crate::sign_in_log::bounded(user));
        }
    }
}

/// The redirect URI the request names, if the app registered it; the only
/// one registered, if the request names none.
fn registered_redirect_uri(app: &App, requested: Option<&str>) -> Result<String, Aadsts> {
    let client_id = || app.client_id.to_string();
    match requested {
        None => {
            let mut registered = app.all_redirect_uris();
            match (registered.next(), registered.next()) {
                (Some(only), None) => Ok(only.clone()),
                _ => Err(Aadsts::RedirectUriMissing {
                    client_id: client_id(),
                }),
            }
        }
        Some(uri) if !is_absolute_uri(uri) => Err(Aadsts::RedirectUriMalformed),
        Some(uri) if registers_redirect_uri(app, uri) => Ok(uri.to_owned()),
        Some(uri) => Err(Aadsts::RedirectUriMismatch {
            redirect_uri: uri.to_owned(),
            client_id: client_id(),
        }),
    }
}

/// Whether `uri` is one of `app`'s redirect URIs: an exact string match,
/// with no normalisation of case, slashes or ports, except the loopback
/// port of native apps (RFC 8252 §7.3).
pub(crate) fn registers_redirect_uri(app: &App, uri: &str) -> bool {
    app.redirect_uris
        .iter()
        .any(|r| r == uri || loopback_port_variant(r, uri))
        // An SPA's page is where it is: no port variant.
        || app.spa_redirect_uris.iter().any(|r| r == uri)
}

/// RFC 8252 §7.3: a native app registers `http://127.0.0.1/path` (or
/// `http://[::1]/path`) without a port and listens on any port. Only an IP
/// literal qualifies (`localhost` does not, §8.3), and everything but the
/// port must match exactly.
fn loopback_port_variant(registered: &str, requested: &str) -> bool {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        let (Some(path), Some(rest)) =
            (registered.strip_prefix(host), requested.strip_prefix(host))
        else {
            continue;
        };
        if !path.starts_with('/') {
            continue;
        }
        let Some(after_colon) = rest.strip_prefix(':') else {
            continue;
        };
        let digits = after_colon.bytes().take_while(u8::is_ascii_digit).count();
        let port_ok =
            (1..=5).contains(&digits) && after_colon[..digits].parse::<u16>().is_ok_and(|p| p > 0);
        return port_ok && after_colon[digits..] == *path;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn target<'a>(tenant: &'a Tenant, app: &'a App, mode: ResponseMode) -> Target<'a> {
        Target {
            tenant,
            tenant_segment: "contoso.example",
            app,
            redirect_uri: app.redirect_uris[0].clone(),
            spa_origin: None,
            mode,
            mode_error: None,
            state: Some("s t".into()),
            profile: Profile::Azure,
            secure_cookies: false,
            version: Version::V1,
        }
    }

    fn app(redirect_uri: &str) -> App {
        App {
            tenant_id: Uuid::nil(),
            client_id: Uuid::nil(),
            name: "App".into(),
            object_id: Uuid::nil(),
            secret: None,
            redirect_uris: vec![redirect_uri.into()],
            spa_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            permissions: Vec::new(),
            assignment_required: false,
            assigned_users: Vec::new(),
            certificates: Vec::new(),
            federated_credentials: Vec::new(),
            single_use_assertions: false,
        }
    }

    fn tenant() -> Tenant {
        Tenant {
            id: Uuid::nil(),
            name: "Contoso".into(),
            domains: Vec::new(),
            profile: None,
            lockout: Default::default(),
            refresh_token_reuse_seconds: 0,
            signing_alg: Default::default(),
        }
    }

    #[test]
    fn a_response_is_delivered_with_state() {
        let (tenant, app) = (tenant(), app("https://app.example/cb"));
        let response = target(&tenant, &app, ResponseMode::Query)
            .deliver(vec![("code", "c".into())])
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://app.example/cb?code=c&state=s+t"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn a_redirect_uri_no_header_can_carry_is_never_redirected_to() {
        // The directory file refuses control characters; were one there,
        // the answer is the error page, not a broken redirect.
        let (tenant, app) = (tenant(), app("https://app.example/\u{7f}"));
        let refused = target(&tenant, &app, ResponseMode::Query)
            .deliver(vec![("code", "c".into())])
            .unwrap_err();
        assert_eq!(refused, Aadsts::RedirectUriMalformed);
    }

    #[test]
    fn loopback_ports_vary_only_for_ip_literals_registered_without_one() {
        assert!(loopback_port_variant(
            "http://127.0.0.1/",
            "http://127.0.0.1:53012/"
        ));
        assert!(loopback_port_variant(
            "http://[::1]/cb",
            "http://[::1]:8000/cb"
        ));
        assert!(!loopback_port_variant(
            "http://127.0.0.1/",
            "http://127.0.0.1:53012/x"
        ));
        assert!(
            !loopback_port_variant("http://127.0.0.1/", "http://127.0.0.1/"),
            "exact match handles this"
        );
        assert!(!loopback_port_variant(
            "http://127.0.0.1/",
            "http://127.0.0.1:0/"
        ));
        assert!(!loopback_port_variant(
            "http://127.0.0.1/",
            "http://127.0.0.1:99999/"
        ));
        assert!(!loopback_port_variant(
            "http://127.0.0.1/",
            "http://127.0.0.1:80@evil.example/"
        ));
        assert!(!loopback_port_variant(
            "http://localhost/",
            "http://localhost:8000/"
        ));
        assert!(!loopback_port_variant(
            "http://127.0.0.1:7000/",
            "http://127.0.0.1:7001/"
        ));
        assert!(!loopback_port_variant(
            "http://127.0.0.1/",
            "https://127.0.0.1:7001/"
        ));
    }
}
