//! The admin API: error scenarios at run time. It exists only when the
//! server was given an admin key, and answers only to that key
//! (`Authorization: Bearer KEY`, compared in constant time).
//!
//! `GET /_admin/scenarios` lists, `POST` adds one (the directory file's
//! keys plus `tenant`), `DELETE` clears (all, or `?tenant=`).
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
}

fn refuse(status: StatusCode, error: &'static str, message: String) -> Refusal {
    Refusal {
        status,
        error,
        message,
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.error, "message": self.message }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
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
fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
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
    let presented = presented
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let ok: bool = presented.as_bytes().ct_eq(expected.as_bytes()).into();
    if ok && !expected.is_empty() {
        Ok(())
    } else {
        Err(refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin API needs 'Authorization: Bearer <admin key>'".into(),
        ))
    }
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
