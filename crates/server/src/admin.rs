//! The admin API: error scenarios at run time. It exists only when the
//! server was given an admin key, and answers only to that key
//! (`Authorization: Bearer KEY`, compared in constant time).
//!
//! `GET /_admin/scenarios` lists, `POST` adds one (the directory file's
//! keys plus `tenant`), `DELETE` clears (all, or `?tenant=`).
//!
//! `GET /_admin/sign-ins` and `/_admin/sign-ins/{id}`: the sign-in log,
//! and its pages for people (`/_admin/portal/sign-ins`), which also take
//! the key as HTTP Basic's password (`sign_in_log::admin`).
//!
//! `POST /_admin/users/{upn}/revokeSignInSessions`: Azure AD's "revoke
//! sessions" (Microsoft Graph's `revokeSignInSessions`) for one user: their
//! browser sessions end and every refresh token of theirs is revoked (a
//! refresh then answers `invalid_grant` AADSTS50173), in the store, so
//! every replica agrees at once.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::BearerChallenge;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::directory::TenantRef;
use crate::scenarios::ScenarioSpec;
use crate::state::AppState;

/// A scenario and its `tenant` (a GUID or a domain name). Read by hand:
/// serde's `flatten` would let unknown keys through.
fn new_scenario(body: &[u8]) -> Result<(String, ScenarioSpec), String> {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let tenant = match object.remove("tenant") {
        Some(serde_json::Value::String(tenant)) => tenant,
        _ => return Err("'tenant' (a GUID or a domain name) is required".into()),
    };
    let spec =
        serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| e.to_string())?;
    Ok((tenant, spec))
}

#[derive(Deserialize)]
pub struct Clear {
    tenant: Option<String>,
}

/// A refused admin request: its status and a JSON body saying why.
pub struct Refusal {
    status: StatusCode,
    error: &'static str,
    message: String,
    /// A 401 of the admin pages: asks the browser for Basic credentials.
    basic_challenge: bool,
}

pub(crate) fn refuse(status: StatusCode, error: &'static str, message: String) -> Refusal {
    Refusal {
        status,
        error,
        message,
        basic_challenge: false,
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.error, "message": self.message }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED && self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"latchkey-admin\", charset=\"UTF-8\""),
            );
        } else if self.status == StatusCode::UNAUTHORIZED {
            let challenge = BearerChallenge {
                realm: Some("latchkey-admin".to_owned()),
                ..BearerChallenge::default()
            };
            if let Ok(value) = HeaderValue::from_str(&challenge.to_string()) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// `Err` with the 401 unless the request carries the admin key.
pub(crate) fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    presents_key(state, headers, false)
}

/// The admin pages' check: a browser cannot send a Bearer header, so the
/// key is also taken as HTTP Basic's password (any user name), and the
/// 401 asks for Basic, which makes the browser prompt.
pub(crate) fn authorized_page(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    presents_key(state, headers, true)
}

fn presents_key(state: &AppState, headers: &HeaderMap, basic: bool) -> Result<(), Refusal> {
    let expected = state.config.admin_key.as_deref().unwrap_or_default();
    let mut credentials = headers.get_all(header::AUTHORIZATION).iter();
    let (presented, second) = (credentials.next(), credentials.next());
    if second.is_some() {
        // Which one would count is a guess a proxy and this server could
        // make differently: neither does.
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the admin API takes one 'Authorization' header".into(),
        ));
    }
    let presented = presented.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let key = match presented.strip_prefix("Bearer ") {
        Some(key) => Some(key.to_owned()),
        None if basic => basic_password(presented),
        None => None,
    }
    .unwrap_or_default();
    let ok: bool = key.as_bytes().ct_eq(expected.as_bytes()).into();
    if ok && !expected.is_empty() {
        Ok(())
    } else if basic {
        Err(Refusal {
            basic_challenge: true,
            ..refuse(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the admin pages need the admin key as the password (HTTP Basic, any user name)"
                    .into(),
            )
        })
    } else {
        Err(refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin API needs 'Authorization: Bearer <admin key>'".into(),
        ))
    }
}

/// The password of an HTTP Basic `Authorization` value.
fn basic_password(value: &str) -> Option<String> {
    use base64::Engine;
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    decoded
        .split_once(':')
        .map(|(_, password)| password.to_owned())
}

fn tenant_id(state: &AppState, segment: &str) -> Result<uuid::Uuid, Refusal> {
    match state.directory.resolve_tenant(segment) {
        Some(TenantRef::Tenant(t)) => Ok(t.id),
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_scenario",
            format!("tenant '{segment}' is not known"),
        )),
    }
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    authorized(&state, &headers)?;
    Ok(Json(json!({ "scenarios": state.scenarios.list() })).into_response())
}

pub async fn add(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Refusal> {
    authorized(&state, &headers)?;
    let (tenant, spec) = new_scenario(&body)
        .map_err(|problem| refuse(StatusCode::BAD_REQUEST, "invalid_scenario", problem))?;
    let tenant = tenant_id(&state, &tenant)?;
    let scenario = spec
        .validate(tenant)
        .map_err(|problem| refuse(StatusCode::BAD_REQUEST, "invalid_scenario", problem))?;
    let id = state.scenarios.add(scenario);
    tracing::info!(scenario = id, %tenant, "scenario added through the admin API");
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

pub async fn clear(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(clear): Query<Clear>,
) -> Result<Response, Refusal> {
    authorized(&state, &headers)?;
    let tenant = clear
        .tenant
        .as_deref()
        .map(|t| tenant_id(&state, t))
        .transpose()?;
    let removed = state.scenarios.clear(tenant);
    Ok(Json(json!({ "removed": removed })).into_response())
}

pub async fn revoke_sign_in_sessions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(upn): Path<String>,
) -> Result<Response, Refusal> {
    authorized(&state, &headers)?;
    let unknown = || {
        refuse(
            StatusCode::NOT_FOUND,
            "unknown_user",
            format!(
                "no user '{}' in any tenant",
                latchkey_protocol::bounded(&upn)
            ),
        )
    };
    let domain = upn.rsplit_once('@').map(|(_, d)| d).ok_or_else(unknown)?;
    let Some(TenantRef::Tenant(tenant)) = state.directory.resolve_tenant(domain) else {
        return Err(unknown());
    };
    let store_failed = |err: crate::store::StoreError| {
        tracing::error!(error = %err, "revoking sign-in sessions failed");
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the store could not be reached".into(),
        )
    };
    let user = state
        .store
        .find_user_by_upn(tenant.id, &upn)
        .await
        .map_err(store_failed)?
        .ok_or_else(unknown)?;
    let now = state.config.clock.now().unix_timestamp();
    let (sessions, refresh_tokens) = state
        .store
        .revoke_user_sign_ins(tenant.id, user.object_id, now)
        .await
        .map_err(store_failed)?;
    tracing::info!(tenant = %tenant.id, user = %user.object_id, sessions, refresh_tokens, "sign-in sessions revoked through the admin API");
    Ok(
        Json(json!({ "value": true, "sessions": sessions, "refresh_tokens": refresh_tokens }))
            .into_response(),
    )
}
