//! `POST /{tenant}/oauth2/token` (RFC 6749 §3.2, Azure AD v1).
//!
//! The order of checks is the order a client fixes its mistakes in:
//! method and tenant → body shape → `grant_type` → client authentication →
//! whether the client may use the grant → the grant's own parameters.
//! Each grant lives in its own module and returns a [`TokenResponseV1`].

mod authorization_code;
mod client_assertion;
mod client_credentials;
mod cross_origin;
mod device_code;
mod issue;
mod on_behalf_of;
mod password;
mod refresh;
mod request;

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{
    Aadsts, ErrorCode, GrantType, Surface, TokenResponseV1, TokenResponseV2, Version, same_resource,
};

use time::OffsetDateTime;

use crate::ProtocolError;
use crate::context::RequestContext;
use crate::directory::{App, Tenant, TenantRef};
use crate::request_body::BodyLimits;
use crate::scenarios::{Facts, Probe};
use crate::scope::{v2_response_scope, v2_scope};
use crate::sign_in_log::{self, Endpoint, SignIn, SignInNotes};
use crate::state::AppState;
use crate::tenant_segment::TenantSegment;
pub(crate) use issue::{Subject, access_token, resolve_api};
pub(crate) use request::AuthMethod;
pub(crate) use request::Form;
use request::{PresentedClient, presented_client, presented_client_id};

/// The tenant and the authenticated client a grant works for.
pub struct Caller<'a> {
    pub tenant: &'a Tenant,
    /// The `{tenant}` segment as the client wrote it, for messages.
    pub tenant_segment: &'a str,
    pub app: &'a App,
    pub method: AuthMethod,
    /// The endpoint generation: decides issuer, claims and response shape.
    pub version: Version,
    /// The request's time: what the grant checks, signs and stores.
    pub now: OffsetDateTime,
    /// The request's ids, time and client address.
    pub ctx: &'a RequestContext,
    /// The request's `Origin`: a browser's page sent it (`cross_origin`).
    pub origin: Option<&'a str>,
    /// What the sign-in log learns on the way (the user).
    pub notes: &'a SignInNotes,
}

/// `POST /{tenant}/oauth2/token` (v1).
pub async fn token_endpoint(
    State(state): State<Arc<AppState>>,
    TenantSegment(tenant_segment): TenantSegment,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ProtocolError> {
    let request = Incoming {
        tenant_segment,
        method,
        headers,
        version: Version::V1,
    };
    token(&state, &ctx, request, body).await
}

/// `POST /{tenant}/oauth2/v2.0/token`: scopes name the resource
/// (`api://…/Files.Read`, `https://api…/.default`); v2 response and claims.
pub async fn token_endpoint_v2(
    State(state): State<Arc<AppState>>,
    TenantSegment(tenant_segment): TenantSegment,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ProtocolError> {
    let request = Incoming {
        tenant_segment,
        method,
        headers,
        version: Version::V2,
    };
    token(&state, &ctx, request, body).await
}

/// A token request as it arrived.
struct Incoming {
    tenant_segment: String,
    method: Method,
    headers: HeaderMap,
    version: Version,
}

/// Answers a token request, and notes it for the sign-in log: its tenant,
/// app and user, and its grant (which the metrics read too).
async fn token(
    state: &AppState,
    ctx: &RequestContext,
    incoming: Incoming,
    body: Body,
) -> Result<Response, ProtocolError> {
    let endpoint = match incoming.version {
        Version::V1 => Endpoint::Token,
        Version::V2 => Endpoint::TokenV2,
    };
    let mut sign_in = SignIn {
        endpoint: Some(endpoint),
        ..SignIn::default()
    };
    let mut grant_type = None;
    let notes = SignInNotes::default();
    let mut response = answer(
        state,
        ctx,
        incoming,
        body,
        &mut sign_in,
        &mut grant_type,
        &notes,
    )
    .await
    .into_response();
    if let Some(grant) = grant_type {
        response.extensions_mut().insert::<GrantType>(grant);
    }
    sign_in.user = notes.into_user().or(sign_in.user);
    response.extensions_mut().insert(sign_in);
    Ok(response)
}

async fn answer(
    state: &AppState,
    ctx: &RequestContext,
    incoming: Incoming,
    body: Body,
    sign_in: &mut SignIn,
    grant_type: &mut Option<GrantType>,
    notes: &SignInNotes,
) -> Result<Response, ProtocolError> {
    let Incoming {
        tenant_segment,
        method,
        headers,
        version,
    } = incoming;
    if method != Method::POST {
        return Err(Aadsts::MethodNotAllowed {
            method: method.to_string(),
        }
        .into());
    }
    let tenant = state
        .directory
        .resolve_tenant(&tenant_segment)
        .ok_or_else(|| Aadsts::TenantNotFound {
            tenant: tenant_segment.clone(),
        })?;
    let profile = match tenant {
        TenantRef::Tenant(t) => t.profile,
        TenantRef::Common => None,
    };
    sign_in.tenant = Some(match tenant {
        TenantRef::Tenant(t) => t.id.to_string(),
        TenantRef::Common => sign_in_log::bounded(&tenant_segment),
    });
    let form = Form::read(&headers, body, BodyLimits::of(&state.config))
        .await
        .map_err(|e| e.with_profile(profile))?;
    *grant_type = form.get("grant_type").and_then(GrantType::from_wire);
    sign_in.app = presented_client_id(&headers, &form).map(|id| sign_in_log::bounded(&id));
    sign_in.user = form.get("username").map(sign_in_log::bounded);
    let asked = Asked {
        tenant,
        tenant_segment: &tenant_segment,
        headers: &headers,
        form: &form,
        version,
    };
    let response = grant(state, ctx, asked, notes).await;
    match response {
        Ok(mut body) => {
            // MSAL asks for `client_info` (`client_info=1`) on every
            // request; other clients never see it.
            if form.get("client_info") != Some("1") {
                body.client_info = None;
            }
            if version == Version::V2 {
                // A scope may name the API by its `app_id`.
                let resource = body.resource.clone();
                let alias = |prefix: &str| {
                    state
                        .directory
                        .api_by_app_id(prefix)
                        .is_some_and(|api| same_resource(&api.app_id_uri, &resource))
                };
                body.scope = body.scope.map(|scp| {
                    v2_response_scope(
                        &scp,
                        &body.resource,
                        form.get("scope"),
                        body.refresh_token.is_some(),
                        &alias,
                    )
                });
            }
            Ok(token_response(body, version))
        }
        Err(error) => Err(error.with_profile(profile)),
    }
}

/// A token request whose body was read: what `grant` works from.
struct Asked<'a> {
    tenant: TenantRef<'a>,
    tenant_segment: &'a str,
    headers: &'a HeaderMap,
    form: &'a Form,
    version: Version,
}

async fn grant(
    state: &AppState,
    ctx: &RequestContext,
    asked: Asked<'_>,
    notes: &SignInNotes,
) -> Result<TokenResponseV1, ProtocolError> {
    let Asked {
        tenant,
        tenant_segment,
        headers,
        form,
        version,
    } = asked;
    let grant_name = form.require("grant_type")?;
    let grant = GrantType::from_wire(grant_name).ok_or_else(|| Aadsts::UnsupportedGrantType {
        grant_type: grant_name.to_owned(),
    })?;
    // Only a code or refresh token of a single-page application may be
    // redeemed from a browser's page, and only at the v2.0 endpoint:
    // anything else cross-origin is refused before it can spend anything.
    let origin = cross_origin::request_origin(headers);
    if let Some(origin) = &origin
        && (version == Version::V1
            || !matches!(
                grant,
                GrantType::AuthorizationCode | GrantType::RefreshToken
            ))
    {
        return Err(Aadsts::CrossOriginNotSpa {
            origin: origin.clone(),
        }
        .into());
    }
    let presented = presented_client(headers, form)?;
    let assertion = presented.assertion.clone();
    let (tenant, app, method) =
        authenticate_client(state, tenant, tenant_segment, presented, origin.as_deref())?;
    let caller = Caller {
        tenant,
        tenant_segment,
        app,
        method,
        version,
        now: ctx.now(),
        ctx,
        origin: origin.as_deref(),
        notes,
    };
    if let Some(assertion) = &assertion {
        client_assertion::verify(state, &caller, assertion).await?;
    }
    let translated;
    let form = match version {
        Version::V1 => form,
        Version::V2 => {
            translated = v2_form(state, &caller, form)?;
            &translated
        }
    };
    // On-behalf-of is a confidential client's grant: Azure AD tells a
    // public client it sent no secret, whatever its grant types.
    if grant == GrantType::OnBehalfOf && !caller.app.is_confidential() {
        return Err(Aadsts::MissingClientSecret.into());
    }
    if !caller.app.allows(grant) {
        return Err(Aadsts::GrantTypeNotAllowed {
            client_id: caller.app.client_id.to_string(),
            grant_type: grant.as_str().to_owned(),
        }
        .into());
    }
    let probe = Probe {
        tenant: caller.tenant.id,
        client_id: Some(&caller.app.client_id.to_string()),
        grant_type: Some(grant.as_str()),
        upn: form.get("username"),
        resource: form.get("resource"),
    };
    let injection = state.scenarios.fire(Surface::Token, &probe);
    let Some(injection) = injection else {
        return dispatch(state, &caller, form, grant, Forced::Nothing).await;
    };
    injection.delay().await;
    tracing::info!(scenario = injection.id, error = %injection.code, "scenario fired");
    // Some scenarios are conditions the grant itself must meet; the rest
    // answer at once, exactly as the real condition would.
    let result = match (&injection.code, grant) {
        (ErrorCode::InteractionRequired, GrantType::Password) => {
            dispatch(state, &caller, form, grant, Forced::SecondFactor).await
        }
        (ErrorCode::InvalidGrant, GrantType::RefreshToken) => {
            dispatch(state, &caller, form, grant, Forced::Revocation).await
        }
        _ => Err(injection
            .condition(Facts {
                client_id: caller.app.client_id.to_string(),
                app_name: &caller.app.name,
                tenant_segment: caller.tenant_segment,
                grant,
                resource: form.get("resource").unwrap_or_default(),
                scope: form.get("scope"),
                response_type: None,
            })
            .into()),
    };
    result.map_err(|error| {
        let retry_after = injection
            .retry_after
            .or((injection.code == ErrorCode::TemporarilyUnavailable).then_some(1));
        let error = error.injected_by(injection.id);
        match retry_after {
            Some(seconds) => error.with_retry_after(seconds),
            None => error,
        }
    })
}

/// What a scenario makes a grant behave as if.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    Nothing,
    /// The user needs a second factor (password grant).
    SecondFactor,
    /// The presented refresh token's family is revoked (refresh grant).
    Revocation,
}

async fn dispatch(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
    grant: GrantType,
    forced: Forced,
) -> Result<TokenResponseV1, ProtocolError> {
    match grant {
        GrantType::ClientCredentials => client_credentials::grant(state, caller, form).await,
        GrantType::Password => password::grant(state, caller, form, forced).await,
        GrantType::RefreshToken => refresh::grant(state, caller, form, forced).await,
        GrantType::AuthorizationCode => authorization_code::grant(state, caller, form).await,
        GrantType::DeviceCode => device_code::grant(state, caller, form).await,
        GrantType::OnBehalfOf => on_behalf_of::grant(state, caller, form).await,
    }
}

/// RFC 6749 §2.3: finds the client in the tenant and checks its secret;
/// the client's tenant and app, and how it authenticated. A browser's page
/// (`cross_origin`) holds no secret: an app that has one is taken as a
/// public client there, for the one thing such a request may do, redeem a
/// code (with PKCE, which its redirect URI demands) or refresh token
/// issued to the app's single-page-application redirect URI.
fn authenticate_client<'a>(
    state: &'a AppState,
    tenant: TenantRef<'a>,
    tenant_segment: &str,
    presented: PresentedClient,
    cross_origin: Option<&str>,
) -> Result<(&'a Tenant, &'a App, AuthMethod), ProtocolError> {
    let unknown = || Aadsts::UnknownApplication {
        client_id: presented.client_id.clone(),
        tenant: tenant_segment.to_owned(),
    };
    let app = state
        .directory
        .app(&presented.client_id)
        .ok_or_else(unknown)?;
    let tenant = match tenant {
        TenantRef::Tenant(t) if t.id == app.tenant_id => t,
        TenantRef::Tenant(_) => return Err(unknown().into()),
        // `common`: a client id names exactly one app, and so its tenant.
        TenantRef::Common => state.directory.tenant(app.tenant_id).ok_or_else(unknown)?,
    };
    let basic = presented.method == AuthMethod::Basic;
    let challenge = |e: ProtocolError| if basic { e.with_basic_challenge() } else { e };
    match (&presented.secret, &presented.assertion) {
        (None, None) if app.is_confidential() => {
            if cross_origin.is_some() && !app.spa_redirect_uris.is_empty() {
                // A single-page application's page: a public client here.
            } else if let Some(origin) = cross_origin {
                // A web app's grant from a browser's page: refused for
                // where it comes from, as Azure AD does, rather than for
                // the credential a page could never hold.
                return Err(Aadsts::CrossOriginNotSpa {
                    origin: origin.to_owned(),
                }
                .into());
            } else {
                return Err(Aadsts::MissingClientSecret.into());
            }
        }
        (Some(_), _) | (_, Some(_)) if !app.is_confidential() => {
            return Err(challenge(Aadsts::PublicClientSentSecret.into()));
        }
        // An app without a secret (it has certificates or a federated
        // credential) is told the secret is wrong, as Azure AD does.
        (Some(secret), _) if !app.secret.is_some_and(|expected| expected.matches(secret)) => {
            return Err(challenge(
                Aadsts::InvalidClientSecret {
                    client_id: app.client_id.to_string(),
                }
                .into(),
            ));
        }
        // A client assertion is verified by the caller (`client_assertion`),
        // which may fetch an issuer's keys.
        _ => {}
    }
    Ok((tenant, app, presented.method))
}

/// v2.0: the resource is named by the scopes (`{App ID URI}/{scope}`, or
/// `{App ID URI}/.default` for everything the app is permitted), all of one
/// resource. Rewritten into the v1 `resource` and bare `scope` the grants read.
fn v2_form(state: &AppState, caller: &Caller<'_>, form: &Form) -> Result<Form, ProtocolError> {
    // A code, a refresh token and a device code already name their
    // resource: spec-strict clients (RFC 6749 §4.1.3, RFC 8628 §3.4) send
    // no scope when redeeming them.
    let optional = matches!(
        form.get("grant_type").and_then(GrantType::from_wire),
        Some(GrantType::AuthorizationCode | GrantType::RefreshToken | GrantType::DeviceCode)
    );
    let scope = match form.get("scope") {
        None if optional => return Ok(form.clone()),
        _ => form.require("scope")?,
    };
    let (api, names) = v2_scope(
        &state.directory,
        caller.tenant,
        caller.tenant_segment,
        scope,
    )?;
    Ok(form.with("resource", &api.app_id_uri).with("scope", &names))
}

fn token_response(body: TokenResponseV1, version: Version) -> Response {
    match version {
        Version::V1 => no_store_json(body),
        Version::V2 => no_store_json(TokenResponseV2::from(body)),
    }
}

/// A JSON answer that carries credentials: never cached (RFC 6749 §5.1).
pub(crate) fn no_store_json(body: impl serde::Serialize) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
