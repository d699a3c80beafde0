//! The device authorization endpoint (RFC 8628 §3.1–3.2) as Azure AD
//! serves it: `POST /{tenant}/oauth2/devicecode` (v1: `resource`, the
//! response's `verification_url`, as ADAL reads it) and
//! `/{tenant}/oauth2/v2.0/devicecode` (v2.0: `scope`, `verification_uri`).
//!
//! The device code is 256 bits and stored as its digest. The user code is
//! eight letters a person types at the device login page (`authorize::
//! device`): consonants only (RFC 8628 §6.1's alphabet, no vowels, so no
//! words; no digits, so nothing to confuse), 20⁸ ≈ 2.6 × 10¹⁰ of them,
//! looked up only at a throttled rate. The token endpoint redeems the
//! device code (`token::device_code`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{
    Aadsts, DeviceAuthorization, DeviceAuthorizationResponseV1, DeviceAuthorizationResponseV2,
    GrantType, Version,
};

use crate::ProtocolError;
use crate::context::RequestContext;
use crate::directory::{Api, App, Tenant, TenantRef};
use crate::request_body::BodyLimits;
use crate::scope::{permitted_scopes, requested_scopes, v2_scope};
use crate::secrets::{Digest, random_bytes, random_token};
use crate::sign_in_log::{Endpoint, SignIn};
use crate::state::AppState;
use crate::store::{DeviceCodeRecord, DeviceCodeStatus};
use crate::tenant_segment::TenantSegment;
use crate::token::{Form, no_store_json};

/// RFC 8628 §6.1: base-20, no vowels.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LENGTH: usize = 8;

/// `POST /{tenant}/oauth2/devicecode` (v1).
pub async fn devicecode_endpoint(
    State(state): State<Arc<AppState>>,
    TenantSegment(tenant_segment): TenantSegment,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ProtocolError> {
    let mut sign_in = SignIn {
        endpoint: Some(Endpoint::DeviceCode),
        tenant: Some(logged_tenant(&state, &tenant_segment)),
        ..SignIn::default()
    };
    let answer =
        match Asked::read(&state, &tenant_segment, method, &headers, body, Version::V1).await {
            Ok(asked) => {
                sign_in.app = Some(asked.app.client_id.to_string());
                authorize_device(&state, &ctx, asked, Version::V1).await
            }
            Err(error) => Err(error),
        };
    let mut response = answer.into_response();
    response.extensions_mut().insert(sign_in);
    Ok(response)
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub async fn devicecode_endpoint_v2(
    State(state): State<Arc<AppState>>,
    TenantSegment(tenant_segment): TenantSegment,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ProtocolError> {
    let mut sign_in = SignIn {
        endpoint: Some(Endpoint::DeviceCodeV2),
        tenant: Some(logged_tenant(&state, &tenant_segment)),
        ..SignIn::default()
    };
    let answer =
        match Asked::read(&state, &tenant_segment, method, &headers, body, Version::V2).await {
            Ok(asked) => {
                sign_in.app = Some(asked.app.client_id.to_string());
                authorize_device(&state, &ctx, asked, Version::V2).await
            }
            Err(error) => Err(error),
        };
    let mut response = answer.into_response();
    response.extensions_mut().insert(sign_in);
    Ok(response)
}

/// The tenant as the sign-in log names it: its id, else the segment.
fn logged_tenant(state: &AppState, segment: &str) -> String {
    match state.directory.resolve_tenant(segment) {
        Some(TenantRef::Tenant(tenant)) => tenant.id.to_string(),
        _ => crate::sign_in_log::bounded(segment),
    }
}

/// A valid device authorization request: who asks, for what.
struct Asked<'a> {
    tenant: &'a Tenant,
    app: &'a App,
    api: &'a Api,
    scopes: Vec<String>,
    oidc: Vec<String>,
}

impl<'a> Asked<'a> {
    /// The checks in the token endpoint's order: method, tenant, body,
    /// client, grant allowed, then what is asked for.
    async fn read(
        state: &'a AppState,
        tenant_segment: &str,
        method: Method,
        headers: &HeaderMap,
        body: Body,
        version: Version,
    ) -> Result<Asked<'a>, ProtocolError> {
        if method != Method::POST {
            return Err(Aadsts::MethodNotAllowed {
                method: method.to_string(),
            }
            .into());
        }
        let tenant_ref = state
            .directory
            .resolve_tenant(tenant_segment)
            .ok_or_else(|| Aadsts::TenantNotFound {
                tenant: tenant_segment.to_owned(),
            })?;
        let profile = match tenant_ref {
            TenantRef::Tenant(t) => t.profile,
            TenantRef::Common => None,
        };
        let form = Form::read(headers, body, BodyLimits::of(&state.config))
            .await
            .map_err(|e| e.with_profile(profile))?;
        Asked::check(state, tenant_ref, tenant_segment, &form, version)
            .map_err(|e| e.with_profile(profile))
    }

    fn check(
        state: &'a AppState,
        tenant_ref: TenantRef<'a>,
        tenant_segment: &str,
        form: &Form,
        version: Version,
    ) -> Result<Asked<'a>, ProtocolError> {
        let client_id = form.require("client_id")?;
        let unknown = || Aadsts::UnknownApplication {
            client_id: client_id.to_owned(),
            tenant: tenant_segment.to_owned(),
        };
        let app = state.directory.app(client_id).ok_or_else(unknown)?;
        let tenant = match tenant_ref {
            TenantRef::Tenant(t) if t.id == app.tenant_id => t,
            TenantRef::Tenant(_) => return Err(unknown().into()),
            TenantRef::Common => state.directory.tenant(app.tenant_id).ok_or_else(unknown)?,
        };
        if !app.allows(GrantType::DeviceCode) {
            return Err(Aadsts::GrantTypeNotAllowed {
                client_id: app.client_id.to_string(),
                grant_type: GrantType::DeviceCode.as_str().to_owned(),
            }
            .into());
        }
        let (api, scope) = match version {
            Version::V1 => {
                let resource = form.require("resource")?;
                let api = state.directory.api(tenant.id, resource).ok_or_else(|| {
                    Aadsts::ResourceNotFound {
                        resource: resource.to_owned(),
                        tenant: tenant_segment.to_owned(),
                    }
                })?;
                (api, form.get("scope").map(str::to_owned))
            }
            Version::V2 => {
                let scope = form.require("scope")?;
                let (api, names) = v2_scope(&state.directory, tenant, tenant_segment, scope)?;
                (api, Some(names))
            }
        };
        let mut requested = requested_scopes(scope.as_deref(), api)?;
        // v1 signs the person in whatever the scope: ADAL sends none, and
        // files the tokens under the user the ID token names.
        if version == Version::V1 && !requested.oidc.iter().any(|s| s == "openid") {
            requested.oidc.push("openid".to_owned());
        }
        Ok(Asked {
            tenant,
            app,
            api,
            scopes: permitted_scopes(app, api, requested.api)?,
            oidc: requested.oidc,
        })
    }
}

async fn authorize_device(
    state: &AppState,
    ctx: &RequestContext,
    asked: Asked<'_>,
    version: Version,
) -> Result<Response, ProtocolError> {
    let device_code = random_token(32)?;
    let now = ctx.unix_now();
    let lifetime = state.config.device_code_lifetime.as_secs();
    let interval = state.config.device_code_interval.as_secs();
    let mut record = DeviceCodeRecord {
        digest: Digest::of(&device_code),
        user_code: String::new(),
        tenant_id: asked.tenant.id,
        client_id: asked.app.client_id,
        resource: asked.api.app_id_uri.clone(),
        scope: asked.scopes.join(" "),
        oidc_scope: asked.oidc.join(" "),
        issued_at: now,
        expires_at: now + lifetime as i64,
        interval_seconds: interval as i64,
        status: DeviceCodeStatus::Pending,
        last_polled_ms: None,
        redeemed_at: None,
    };
    // A user code still in the store (pending, or expired within the hour
    // it is kept) is never handed out twice: draw again.
    let mut stored = false;
    for _ in 0..8 {
        record.user_code = new_user_code()?;
        if state.store.insert_device_code(&record).await? {
            stored = true;
            break;
        }
    }
    if !stored {
        return Err(ProtocolError::internal(
            "eight user codes drawn in a row were all taken",
        ));
    }
    tracing::info!(
        trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id,
        client_id = %asked.app.client_id, "device code issued"
    );
    let authorization = DeviceAuthorization {
        user_code: record.user_code,
        device_code,
        verification_uri: format!(
            "{}{}",
            state.config.public_url,
            crate::authorize::DEVICE_PAGE_PATH
        ),
        expires_in: lifetime,
        interval,
    };
    Ok(match version {
        Version::V1 => no_store_json(DeviceAuthorizationResponseV1::from(&authorization)),
        Version::V2 => no_store_json(DeviceAuthorizationResponseV2::from(&authorization)),
    })
}

/// Eight letters of the alphabet, uniformly (256 is not a multiple of 20:
/// bytes past the last whole multiple are drawn again).
fn new_user_code() -> Result<String, ProtocolError> {
    let limit = 256 - 256 % USER_CODE_ALPHABET.len();
    let mut code = String::with_capacity(USER_CODE_LENGTH);
    while code.len() < USER_CODE_LENGTH {
        for byte in random_bytes(16)? {
            if usize::from(byte) < limit && code.len() < USER_CODE_LENGTH {
                code.push(char::from(
                    USER_CODE_ALPHABET[usize::from(byte) % USER_CODE_ALPHABET.len()],
                ));
            }
        }
    }
    Ok(code)
}

/// A user code as a person may type it: any case, with spaces or dashes.
pub fn normalize_user_code(entered: &str) -> String {
    entered
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(64)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_letters_of_the_alphabet() {
        for _ in 0..100 {
            let code = new_user_code().unwrap();
            assert_eq!(code.len(), USER_CODE_LENGTH);
            assert!(
                code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
        }
    }

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(normalize_user_code(" bdfg-hjkl "), "BDFGHJKL");
        assert_eq!(normalize_user_code("BDFG HJKL"), "BDFGHJKL");
        assert_eq!(normalize_user_code("<script>"), "SCRIPT");
    }
}
