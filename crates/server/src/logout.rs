//! `GET|POST /{tenant}/oauth2/logout` and `/{tenant}/oauth2/v2.0/logout`
//! (`end_session_endpoint`): OpenID Connect RP-Initiated Logout as Azure AD
//! serves it. The browser's session ends (its record deleted, its cookie
//! expired), then the browser goes to `post_logout_redirect_uri` with
//! `state`, or to the signed-out page.
//!
//! Never an open redirect: `post_logout_redirect_uri` is followed only
//! when it is a redirect URI registered for the app that `client_id` names,
//! else for the audience of a valid `id_token_hint` (one this server
//! signed), else — when neither is sent, as msal-browser's plain
//! `logoutRedirect` sends neither — for an app the ending session signed
//! in to. Anything else gets the signed-out page.
//!
//! Refresh tokens are left alone, as Azure AD leaves them: its sign-out
//! ends the browser session, and an app's refresh tokens stay valid until
//! they expire or are revoked (Azure AD's `revokeSignInSessions`). MSAL
//! removes the account's tokens from its own cache when it signs out.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_protocol::{Aadsts, redirect_location};

use crate::ProtocolError;
use crate::authorize::{Params, error_page, pages, registers_redirect_uri, session};
use crate::context::RequestContext;
use crate::directory::{App, TenantRef};
use crate::request_body::BodyLimits;
use crate::state::AppState;
use crate::store::SessionRecord;
use crate::tenant_segment::TenantSegment;

pub async fn logout_endpoint(
    State(state): State<Arc<AppState>>,
    tenant_segment: Result<TenantSegment, ProtocolError>,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    match logout(&state, &ctx, tenant_segment, &method, &headers, query, body).await {
        Ok(response) => response,
        Err(error) => match error.internal_detail() {
            // A store failure: the generic JSON 500 with the log line.
            Some(_) => error.into_response(),
            None => error_page(&state, &ctx, None, error.condition().clone()),
        },
    }
}

async fn logout(
    state: &AppState,
    ctx: &RequestContext,
    tenant_segment: Result<TenantSegment, ProtocolError>,
    method: &Method,
    headers: &HeaderMap,
    query: Option<String>,
    body: Body,
) -> Result<Response, ProtocolError> {
    let TenantSegment(segment) = tenant_segment?;
    let tenant = state
        .directory
        .resolve_tenant(&segment)
        .ok_or(Aadsts::TenantNotFound { tenant: segment })?;
    let params = Params::read(
        method,
        headers,
        query.as_deref(),
        body,
        BodyLimits::of(&state.config),
    )
    .await?;
    let secure = state.config.public_url.starts_with("https://");
    let ended = end_session(state, ctx, headers, secure).await?;
    let destination = params
        .get("post_logout_redirect_uri")?
        .filter(|uri| may_return_to(state, tenant, &params, ended.as_ref(), uri));
    let mut response = match destination {
        Some(uri) => {
            let state_param: Vec<(&str, String)> = params
                .get("state")?
                .map(|value| vec![("state", value.to_owned())])
                .unwrap_or_default();
            let location = if state_param.is_empty() {
                uri.to_owned()
            } else {
                redirect_location(uri, false, &state_param)
            };
            let location =
                HeaderValue::from_str(&location).map_err(|_| Aadsts::RedirectUriMalformed)?;
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        None => pages::signed_out(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = session::ended_session_cookie(secure) {
        headers.append(header::SET_COOKIE, cookie);
    }
    tracing::info!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, session_ended = ended.is_some(), redirected = destination.is_some(), "signed out");
    Ok(response)
}

/// Deletes the browser's session, if it has one; returns what it was.
async fn end_session(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    secure: bool,
) -> Result<Option<SessionRecord>, ProtocolError> {
    let Some(cookie) = session::cookie(headers, session::session_cookie_name(secure)) else {
        return Ok(None);
    };
    let digest = session::session_digest(cookie);
    let found = state.store.find_session(&digest, ctx.unix_now()).await?;
    state.store.delete_session(&digest).await?;
    Ok(found)
}

/// Whether `uri` may be followed: registered for the app the request names
/// (`client_id`, else a valid `id_token_hint`'s audience), or when it names
/// none, for an app the ended session signed in to.
fn may_return_to(
    state: &AppState,
    tenant: TenantRef<'_>,
    params: &Params,
    ended: Option<&SessionRecord>,
    uri: &str,
) -> bool {
    let named = params.first("client_id").map(str::to_owned).or_else(|| {
        params
            .first("id_token_hint")
            .and_then(|hint| hint_audience(state, hint))
    });
    let registered = |client_id: &str| {
        app_in(state, tenant, client_id).is_some_and(|app| registers_redirect_uri(app, uri))
    };
    match named {
        Some(client_id) => registered(&client_id),
        None => ended.is_some_and(|session| session.client_ids.iter().any(|id| registered(id))),
    }
}

/// The app `client_id` names, if it belongs to the tenant of the path (any
/// tenant's app through `common`).
fn app_in<'a>(state: &'a AppState, tenant: TenantRef<'_>, client_id: &str) -> Option<&'a App> {
    let app = state.directory.app(client_id)?;
    match tenant {
        TenantRef::Tenant(t) if t.id != app.tenant_id => None,
        _ => Some(app),
    }
}

/// The audience (client id) of an ID token this server signed with a key it
/// still publishes; expired tokens count (OpenID Connect RP-Initiated
/// Logout §2: the hint may have expired). `None` for anything else.
fn hint_audience(state: &AppState, hint: &str) -> Option<String> {
    let (signed, signature) = hint.rsplit_once('.')?;
    let (header, payload) = signed.split_once('.')?;
    let decode = |part: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let header = decode(header)?;
    // The alg must be the key's own (RS256 for an RSA key, ES256 for EC).
    let alg = header.get("alg")?.as_str()?;
    let kid = header.get("kid")?.as_str()?;
    let key = state
        .published_keys()
        .into_iter()
        .find(|k| k.kid() == kid)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if !key.verifies(alg, signed.as_bytes(), &signature) {
        return None;
    }
    decode(payload)?.get("aud")?.as_str().map(str::to_owned)
}
