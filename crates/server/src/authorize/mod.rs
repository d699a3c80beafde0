//! `GET|POST /{tenant}/oauth2/authorize` (RFC 6749 §4.1, Azure AD v1) and
//! `/{tenant}/oauth2/v2.0/authorize`, where `scope` names the API instead
//! of `resource` (`api://files/Files.Read openid`).
//!
//! Until the client and its redirect URI are known to be genuine, nothing is
//! sent to the redirect URI: an error is shown on our own page (seed 001:
//! "returned … as HTTP 200 errors on a web page"). From then on, every error
//! goes back to the client (302, fragment, or form post) with `state`.
//!
//! The person's path: sign-in page → (second factor) → (consent) → code.
//! Each page posts back here with the request's parameters as hidden fields
//! and a CSRF token; sign-in and the second factor answer 303 back to this
//! endpoint, so the request is validated afresh at every step.

mod pages;
mod params;
mod session;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{
    Aadsts, ErrorCode, GrantType, Profile, ResponseMode, TokenErrorResponse, Version, error_params,
    redirect_location,
};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::context::RequestContext;
use crate::directory::{Api, App, Consent, Tenant, TenantRef, User};
use crate::scenarios::{Endpoint, Injection, Probe};
use crate::secrets::{random_token, verify_password};
use crate::state::AppState;
use crate::store::{AuthCodeRecord, SessionRecord, StoreError};
use crate::token::{requested_scopes, v2_scope};
use params::Params;
use session::{CSRF_COOKIE, SESSION_COOKIE, cookie, csrf_matches, session_digest, set_cookie};

pub async fn authorize_endpoint(
    State(state): State<Arc<AppState>>,
    Path(tenant_segment): Path<String>,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let request = Incoming {
        tenant_segment,
        method,
        headers,
        query,
        version: Version::V1,
    };
    authorize(&state, &ctx, request, body).await
}

pub async fn authorize_endpoint_v2(
    State(state): State<Arc<AppState>>,
    Path(tenant_segment): Path<String>,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let request = Incoming {
        tenant_segment,
        method,
        headers,
        query,
        version: Version::V2,
    };
    authorize(&state, &ctx, request, body).await
}

/// An authorization request as it arrived, before anything is trusted.
struct Incoming {
    tenant_segment: String,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    version: Version,
}

async fn authorize(
    state: &AppState,
    ctx: &RequestContext,
    incoming: Incoming,
    body: Body,
) -> Response {
    let Incoming {
        tenant_segment,
        method,
        headers,
        query,
        version,
    } = incoming;
    let params = match Params::read(
        &method,
        &headers,
        query.as_deref(),
        body,
        state.config.max_body_bytes,
    )
    .await
    {
        Ok(params) => params,
        Err(condition) => return untrusted(state, ctx, None, condition),
    };
    let Some(tenant) = state.directory.resolve_tenant(&tenant_segment) else {
        return untrusted(
            state,
            ctx,
            None,
            Aadsts::TenantNotFound {
                tenant: tenant_segment,
            },
        );
    };
    let tenant_profile = match tenant {
        TenantRef::Tenant(t) => t.profile,
        TenantRef::Common => None,
    };
    let target = match Target::find(state, tenant, &tenant_segment, &params, version) {
        Ok(target) => target,
        Err(condition) => return untrusted(state, ctx, tenant_profile, condition),
    };
    // Overload is answered to the client like any other error.
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        return target.error(ctx, Aadsts::Throttled);
    };
    if let Some(injection) = fire_scenario(state, &target, &params) {
        injection.delay().await;
        tracing::info!(scenario = injection.id, error = %injection.code, injected = true, "scenario fired");
        return target.error(
            ctx,
            injected_condition(state, &injection.code, &target, &params),
        );
    }
    let flow = Flow {
        state,
        ctx,
        target: &target,
        params: &params,
        headers: &headers,
        method: &method,
    };
    match flow.run().await {
        Ok(response) => response,
        Err(Failure::Client(condition)) => target.error(ctx, condition),
        Err(Failure::Internal(detail)) => {
            tracing::error!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, detail, "authorization failed");
            target.error(ctx, Aadsts::ServerError)
        }
    }
}

fn fire_scenario(state: &AppState, target: &Target<'_>, params: &Params) -> Option<Injection> {
    let client_id = target.app.client_id.to_string();
    let resource = requested_resource(state, target, params);
    let probe = Probe {
        tenant: target.tenant.id,
        client_id: Some(&client_id),
        grant_type: Some(GrantType::AuthorizationCode.as_str()),
        upn: params.first("login_hint"),
        resource: resource.as_deref(),
    };
    state.scenarios.fire(Endpoint::Authorize, &probe)
}

/// The API asked for, as far as it can be told before validation:
/// `resource` in v1, the API the `scope` names in v2.0.
fn requested_resource(state: &AppState, target: &Target<'_>, params: &Params) -> Option<String> {
    match target.version {
        Version::V1 => params.first("resource").map(str::to_owned),
        Version::V2 => params
            .first("scope")
            .and_then(|scope| v2_scope(state, target.tenant, target.tenant_segment, scope).ok())
            .map(|(api, _)| api.app_id_uri.clone()),
    }
}

/// The condition an injected error code stands for at this endpoint.
fn injected_condition(
    state: &AppState,
    code: &ErrorCode,
    target: &Target<'_>,
    params: &Params,
) -> Aadsts {
    let resource = requested_resource(state, target, params).unwrap_or_default();
    let client_id = target.app.client_id.to_string();
    match code {
        ErrorCode::InvalidRequest => Aadsts::MalformedRequest,
        ErrorCode::UnauthorizedClient => Aadsts::GrantTypeNotAllowed {
            client_id,
            grant_type: GrantType::AuthorizationCode.as_str().to_owned(),
        },
        ErrorCode::AccessDenied => Aadsts::UserDeclinedConsent,
        ErrorCode::UnsupportedResponseType => Aadsts::UnsupportedResponseType {
            response_type: params.first("response_type").unwrap_or("code").to_owned(),
        },
        ErrorCode::TemporarilyUnavailable => Aadsts::Throttled,
        ErrorCode::InvalidResource => Aadsts::ResourceNotFound {
            resource,
            tenant: target.tenant_segment.to_owned(),
        },
        ErrorCode::InvalidScope => Aadsts::InvalidScope {
            scope: params.first("scope").unwrap_or(&resource).to_owned(),
        },
        ErrorCode::LoginRequired => Aadsts::LoginRequired,
        ErrorCode::ConsentRequired => Aadsts::SilentConsentRequired {
            client_id,
            app_name: target.app.name.clone(),
        },
        ErrorCode::InteractionRequired => Aadsts::MfaRequired { resource },
        _ => Aadsts::ServerError,
    }
}

/// The error page, for a request whose redirect URI cannot be trusted.
/// HTTP 200 as the seed says; 400 in the strict profile.
fn untrusted(
    state: &AppState,
    ctx: &RequestContext,
    profile: Option<Profile>,
    condition: Aadsts,
) -> Response {
    let profile = profile.unwrap_or(state.config.profile);
    let doc = TokenErrorResponse::new(&condition, &ctx.ids, profile);
    tracing::info!(
        trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id,
        error = %doc.error, aadsts = condition.number(), "authorization request refused on the error page"
    );
    let status = match profile {
        Profile::Azure => StatusCode::OK,
        Profile::Strict => StatusCode::BAD_REQUEST,
    };
    let message = format!("AADSTS{}: {}", condition.number(), condition.message());
    pages::error(&doc, &message, status)
}

/// A client and a redirect URI that are known to be genuine: from here on
/// the response goes to the client.
struct Target<'a> {
    tenant: &'a Tenant,
    tenant_segment: &'a str,
    app: &'a App,
    redirect_uri: String,
    mode: ResponseMode,
    /// An unknown `response_mode`, reported (by query) once trust is settled.
    mode_error: Option<Aadsts>,
    state: Option<String>,
    profile: Profile,
    secure_cookies: bool,
    version: Version,
}

impl<'a> Target<'a> {
    fn find(
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
        let redirect_uri = match requested_uri {
            None => match app.redirect_uris.as_slice() {
                [only] => only.clone(),
                _ => {
                    return Err(Aadsts::RedirectUriMissing {
                        client_id: client_id.to_owned(),
                    });
                }
            },
            Some(uri) if !is_absolute_uri(uri) => return Err(Aadsts::RedirectUriMalformed),
            // Exact string match: no normalisation of case, slashes or ports,
            // except the loopback port of native apps (RFC 8252 §7.3).
            Some(uri)
                if app
                    .redirect_uris
                    .iter()
                    .any(|r| r == uri || loopback_port_variant(r, uri)) =>
            {
                uri.to_owned()
            }
            Some(uri) => {
                return Err(Aadsts::RedirectUriMismatch {
                    redirect_uri: uri.to_owned(),
                    client_id: client_id.to_owned(),
                });
            }
        };
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
            mode,
            mode_error,
            state: client_state,
            profile: tenant.profile.unwrap_or(state.config.profile),
            secure_cookies: state.config.public_url.starts_with("https://"),
            version,
        })
    }

    /// Sends `params` (plus `state`) to the client in the response mode.
    fn deliver(&self, mut params: Vec<(&'static str, String)>) -> Response {
        if let Some(state) = &self.state
            && !params.iter().any(|(name, _)| *name == "state")
        {
            params.push(("state", state.clone()));
        }
        let location = match self.mode {
            ResponseMode::FormPost => {
                let nonce = random_token(16).unwrap_or_else(|_| "latchkey".into());
                return pages::form_post(&self.redirect_uri, &params, &nonce);
            }
            ResponseMode::Query => redirect_location(&self.redirect_uri, false, &params),
            ResponseMode::Fragment => redirect_location(&self.redirect_uri, true, &params),
        };
        let mut response = StatusCode::FOUND.into_response();
        match HeaderValue::from_str(&location) {
            Ok(value) => {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Err(_) => {
                return (StatusCode::BAD_REQUEST, "The redirect URI cannot be used.")
                    .into_response();
            }
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// An error for the client: `error`, `error_description`, `state`.
    fn error(&self, ctx: &RequestContext, condition: Aadsts) -> Response {
        tracing::info!(
            trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id,
            error = %condition.error_code(), aadsts = condition.number(), "authorization request refused"
        );
        self.deliver(error_params(&condition, &ctx.ids, self.profile, None))
    }
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

/// An absolute URI (scheme ":" …) without a fragment, spaces or controls.
fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok
        && !rest.is_empty()
        && !uri.contains('#')
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
}

enum Failure {
    /// An error the client is told of.
    Client(Aadsts),
    /// Our failure: logged, and told to the client as `server_error`.
    Internal(String),
}

impl From<Aadsts> for Failure {
    fn from(condition: Aadsts) -> Self {
        Failure::Client(condition)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::Internal(err.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Default,
    Login,
    Consent,
    None,
}

/// A validated authorization request.
struct Request<'a> {
    api: &'a Api,
    /// The API scopes asked for (all the app's permitted ones when none are named).
    scopes: Vec<String>,
    oidc: Vec<String>,
    challenge: Option<String>,
    prompt: Prompt,
    nonce: Option<String>,
    login_hint: Option<String>,
}

struct Flow<'a> {
    state: &'a AppState,
    ctx: &'a RequestContext,
    target: &'a Target<'a>,
    params: &'a Params,
    headers: &'a HeaderMap,
    method: &'a Method,
}

impl<'a> Flow<'a> {
    async fn run(&self) -> Result<Response, Failure> {
        let request = self.validate()?;
        if *self.method == Method::POST {
            match self.params.first("lk_step") {
                Some("signin") => return self.sign_in_posted().await,
                Some("mfa") => return self.second_factor_posted(&request).await,
                Some("consent") => return self.consent_posted(&request).await,
                _ => {}
            }
        }
        self.proceed(&request).await
    }

    /// RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect `prompt`.
    fn validate(&self) -> Result<Request<'a>, Aadsts> {
        let target = self.target;
        if let Some(error) = &target.mode_error {
            return Err(error.clone());
        }
        let params = self.params;
        match params.get("response_type")? {
            None => {
                return Err(Aadsts::MissingParameter {
                    name: "response_type",
                });
            }
            Some("code") => {}
            Some(other) => {
                return Err(Aadsts::UnsupportedResponseType {
                    response_type: other.to_owned(),
                });
            }
        }
        if !target.app.allows(GrantType::AuthorizationCode) {
            return Err(Aadsts::GrantTypeNotAllowed {
                client_id: target.app.client_id.to_string(),
                grant_type: GrantType::AuthorizationCode.as_str().to_owned(),
            });
        }
        let (api, scope) = self.api_and_scope()?;
        let requested = requested_scopes(scope.as_deref(), api)?;
        let permitted: Vec<String> = target
            .app
            .permission_for(api)
            .map(|p| p.scopes.clone())
            .unwrap_or_default();
        if let Some(scope) = requested.api.iter().find(|s| !permitted.contains(s)) {
            return Err(Aadsts::InvalidScope {
                scope: scope.clone(),
            });
        }
        let scopes = if requested.api.is_empty() {
            permitted
        } else {
            requested.api
        };
        if scopes.is_empty() {
            return Err(Aadsts::InvalidScope {
                scope: api.app_id_uri.clone(),
            });
        }
        let challenge = match (
            params.get("code_challenge")?,
            params.get("code_challenge_method")?,
        ) {
            (None, None) if target.app.is_confidential() => None,
            (None, None) => return Err(Aadsts::PkceRequired),
            (None, Some(_)) => {
                return Err(Aadsts::MissingParameter {
                    name: "code_challenge",
                });
            }
            // RFC 7636 §4.3: no method means "plain", which is refused.
            (Some(challenge), method) => {
                let method = method.unwrap_or("plain");
                if method != "S256" {
                    return Err(Aadsts::PkceMethodNotSupported {
                        method: method.to_owned(),
                    });
                }
                if !(43..=128).contains(&challenge.len())
                    || !challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
                {
                    return Err(Aadsts::MalformedCodeChallenge);
                }
                Some(challenge.to_owned())
            }
        };
        let prompt = match params.get("prompt")? {
            None | Some("select_account") => Prompt::Default,
            Some("login") => Prompt::Login,
            Some("consent") => Prompt::Consent,
            Some("none") => Prompt::None,
            Some(other) => {
                return Err(Aadsts::UnsupportedPrompt {
                    prompt: other.to_owned(),
                });
            }
        };
        Ok(Request {
            api,
            scopes,
            oidc: requested.oidc,
            challenge,
            prompt,
            nonce: params.first("nonce").map(str::to_owned),
            login_hint: params.first("login_hint").map(str::to_owned),
        })
    }

    /// The API asked for and the scopes on it: `resource` and `scope` in
    /// v1, both in `scope` in v2.0.
    fn api_and_scope(&self) -> Result<(&'a Api, Option<String>), Aadsts> {
        let (target, params) = (self.target, self.params);
        if target.version == Version::V2 {
            let scope = params
                .get("scope")?
                .ok_or(Aadsts::MissingParameter { name: "scope" })?;
            let (api, names) = v2_scope(self.state, target.tenant, target.tenant_segment, scope)?;
            return Ok((api, Some(names)));
        }
        let resource = params
            .get("resource")?
            .ok_or(Aadsts::MissingParameter { name: "resource" })?;
        let api = self
            .state
            .directory
            .api(target.tenant.id, resource)
            .ok_or_else(|| Aadsts::ResourceNotFound {
                resource: resource.to_owned(),
                tenant: target.tenant_segment.to_owned(),
            })?;
        Ok((api, params.get("scope")?.map(str::to_owned)))
    }

    /// The GET path: who is signed in, what is still needed, or the code.
    async fn proceed(&self, request: &Request<'_>) -> Result<Response, Failure> {
        let signed_in = match request.prompt {
            Prompt::Login => None,
            _ => self.signed_in().await?,
        };
        let Some((session, user)) = signed_in else {
            if request.prompt == Prompt::None {
                return Err(Aadsts::LoginRequired.into());
            }
            let hint = request.login_hint.clone().unwrap_or_default();
            return Ok(self.form_page(|form| pages::sign_in(form, &hint, None)));
        };
        if user.requires_second_factor() && session.mfa_at.is_none() {
            if request.prompt == Prompt::None {
                return Err(Aadsts::MfaRequired {
                    resource: request.api.app_id_uri.clone(),
                }
                .into());
            }
            return Ok(self.form_page(|form| pages::second_factor(form, &user.upn, None)));
        }
        let consented = self.has_consent(request, &user).await?;
        if !consented || request.prompt == Prompt::Consent {
            if request.prompt == Prompt::None {
                let app = self.target.app;
                return Err(Aadsts::SilentConsentRequired {
                    client_id: app.client_id.to_string(),
                    app_name: app.name.clone(),
                }
                .into());
            }
            return Ok(self.form_page(|form| {
                pages::consent(form, &user.upn, &request.api.name, &request.scopes)
            }));
        }
        self.issue_code(request, &user, &session).await
    }

    /// The session cookie's session and its user, in this tenant.
    async fn signed_in(&self) -> Result<Option<(SessionRecord, User)>, Failure> {
        let Some(value) = cookie(self.headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let Some(session) = self
            .state
            .store
            .find_session(&session_digest(value), now)
            .await?
        else {
            return Ok(None);
        };
        if session.tenant_id != self.target.tenant.id {
            return Ok(None);
        }
        let user = self
            .state
            .store
            .find_user(session.tenant_id, session.user_oid)
            .await?;
        Ok(user.map(|user| (session, user)))
    }

    async fn has_consent(&self, request: &Request<'_>, user: &User) -> Result<bool, Failure> {
        let consents = self
            .state
            .store
            .consents(
                self.target.tenant.id,
                user.object_id,
                self.target.app.client_id,
            )
            .await?;
        Ok(request.scopes.iter().all(|scope| {
            consents
                .iter()
                .any(|c| c.covers(request.api) && c.scopes.contains(scope))
        }))
    }

    /// This tenant's authorize endpoint, where the pages post.
    fn action(&self) -> String {
        let segment = self.target.tenant_segment;
        match self.target.version {
            Version::V1 => format!("/{segment}/oauth2/authorize"),
            Version::V2 => format!("/{segment}/oauth2/v2.0/authorize"),
        }
    }

    /// A form page with the request's parameters and a CSRF token (set as
    /// a cookie if the browser has none yet).
    fn form_page(&self, render: impl FnOnce(&pages::Form<'_>) -> Response) -> Response {
        let existing = cookie(self.headers, CSRF_COOKIE).map(str::to_owned);
        let csrf = existing
            .clone()
            .or_else(|| random_token(32).ok())
            .unwrap_or_default();
        let params = self.params.protocol_pairs(&[]);
        let action = self.action();
        let form = pages::Form {
            action: &action,
            params: &params,
            csrf: &csrf,
            app: &self.target.app.name,
            tenant: &self.target.tenant.name,
            redirect_uri: &self.target.redirect_uri,
        };
        let mut response = render(&form);
        if existing.is_none()
            && let Some(value) = set_cookie(
                CSRF_COOKIE,
                &csrf,
                "Strict",
                None,
                self.target.secure_cookies,
            )
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    fn csrf_ok(&self) -> bool {
        csrf_matches(
            cookie(self.headers, CSRF_COOKIE),
            self.params.first("lk_csrf"),
        )
    }

    /// 303 back to this endpoint with the request's parameters, `drop` removed.
    fn see_other(&self, drop: &[&str]) -> Response {
        let location = format!("{}?{}", self.action(), self.params.query_string(drop));
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    const EXPIRED_FORM: &'static str = "This page has expired. Please try again.";

    async fn sign_in_posted(&self) -> Result<Response, Failure> {
        let username = self.params.first("username").unwrap_or_default().to_owned();
        if !self.csrf_ok() {
            return Ok(
                self.form_page(|form| pages::sign_in(form, &username, Some(Self::EXPIRED_FORM)))
            );
        }
        let password = self.params.first("password").unwrap_or_default().to_owned();
        let user = self
            .state
            .store
            .find_user_by_upn(self.target.tenant.id, &username)
            .await?;
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let verified =
            tokio::task::spawn_blocking(move || verify_password(&password, stored_hash.as_deref()))
                .await
                .map_err(|e| Failure::Internal(e.to_string()))?;
        let user = match user {
            Some(user) if verified => user,
            _ => {
                tracing::info!(trace_id = %self.ctx.ids.trace_id, aadsts = 50126, "sign-in failed: invalid username or password");
                let message = "Your account or password is incorrect.";
                return Ok(self.form_page(|form| pages::sign_in(form, &username, Some(message))));
            }
        };
        let token = random_token(32).map_err(|e| Failure::Internal(e.to_string()))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
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
            })
            .await?;
        let mut response = self.see_other(&["prompt"]);
        if let Some(value) = set_cookie(
            SESSION_COOKIE,
            &token,
            "Lax",
            Some(lifetime),
            self.target.secure_cookies,
        ) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        Ok(response)
    }

    async fn second_factor_posted(&self, request: &Request<'_>) -> Result<Response, Failure> {
        let Some((session, user)) = self.signed_in().await? else {
            return self.proceed(request).await;
        };
        if !self.csrf_ok() {
            return Ok(self.form_page(|form| {
                pages::second_factor(form, &user.upn, Some(Self::EXPIRED_FORM))
            }));
        }
        let code = self.params.first("otp").unwrap_or_default();
        if !totp_matches(user.totp_secret.as_deref(), code) {
            let message =
                "That code is not right. Enter the current code from your authenticator app.";
            return Ok(self.form_page(|form| pages::second_factor(form, &user.upn, Some(message))));
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.state
            .store
            .set_session_mfa(&session.digest, now)
            .await?;
        Ok(self.see_other(&["prompt"]))
    }

    async fn consent_posted(&self, request: &Request<'_>) -> Result<Response, Failure> {
        let Some((session, user)) = self.signed_in().await? else {
            return self.proceed(request).await;
        };
        if user.requires_second_factor() && session.mfa_at.is_none() {
            return self.proceed(request).await;
        }
        if !self.csrf_ok() {
            return Ok(self.form_page(|form| {
                pages::consent(form, &user.upn, &request.api.name, &request.scopes)
            }));
        }
        if self.params.first("consent") != Some("accept") {
            return Err(Aadsts::UserDeclinedConsent.into());
        }
        self.state
            .store
            .grant_consent(&Consent {
                tenant_id: self.target.tenant.id,
                user_oid: user.object_id,
                client_id: self.target.app.client_id,
                api: Some(request.api.app_id_uri.clone()),
                scopes: request.scopes.clone(),
            })
            .await?;
        self.issue_code(request, &user, &session).await
    }

    /// A single-use code, bound to everything the token request must repeat.
    async fn issue_code(
        &self,
        request: &Request<'_>,
        user: &User,
        session: &SessionRecord,
    ) -> Result<Response, Failure> {
        let code = random_token(32).map_err(|e| Failure::Internal(e.to_string()))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let record = AuthCodeRecord {
            digest: crate::secrets::Digest::of(&code),
            tenant_id: self.target.tenant.id,
            client_id: self.target.app.client_id,
            redirect_uri: self.target.redirect_uri.clone(),
            user_oid: user.object_id,
            resource: request.api.app_id_uri.clone(),
            scope: request.scopes.join(" "),
            oidc_scope: request.oidc.join(" "),
            nonce: request.nonce.clone(),
            code_challenge: request.challenge.clone(),
            auth_methods: if session.mfa_at.is_some() {
                "pwd mfa".into()
            } else {
                "pwd".into()
            },
            issued_at: now,
            expires_at: now + self.state.config.code_lifetime.as_secs() as i64,
            redeemed_at: None,
            family_id: None,
        };
        self.state.store.insert_code(&record).await?;
        tracing::info!(trace_id = %self.ctx.ids.trace_id, correlation_id = %self.ctx.ids.correlation_id, client_id = %self.target.app.client_id, "authorization code issued");
        Ok(self.target.deliver(vec![("code", code)]))
    }
}

/// RFC 6238 with the authenticator-app defaults (SHA-1, 6 digits, 30 s),
/// one step of clock skew either way.
fn totp_matches(secret: Option<&str>, code: &str) -> bool {
    let Some(secret) = secret else { return false };
    let Ok(bytes) = Secret::Encoded(secret.trim_end_matches('=').to_owned()).to_bytes() else {
        return false;
    };
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes);
    code.len() == 6 && totp.check_current(code).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn absolute_uris() {
        for ok in [
            "https://app.example/cb",
            "http://localhost:5000/callback",
            "com.example.app:/oauth",
            "urn:ietf:wg:oauth:2.0:oob",
        ] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in [
            "/relative",
            "app.example/cb",
            "https://app.example/cb#frag",
            "https://a b",
            ":nothing",
            "https:",
        ] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }

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
        let current = totp.generate_current().unwrap();
        assert!(totp_matches(Some(secret), &current));
        let wrong = if current == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert!(!totp_matches(Some(secret), wrong));
        assert!(!totp_matches(None, &current));
    }
}
