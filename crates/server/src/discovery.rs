//! OpenID Connect discovery (v1 shape) and the JWKS.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::Aadsts;
use serde_json::json;

use crate::ProtocolError;
use crate::directory::TenantRef;
use crate::state::AppState;

/// `GET /{tenant}/.well-known/openid-configuration`.
pub async fn openid_configuration(
    State(state): State<Arc<AppState>>,
    Path(tenant_segment): Path<String>,
) -> Result<Response, ProtocolError> {
    let base = &state.config.public_url;
    // `common` answers with Azure AD's `{tenantid}` template in the issuer.
    let (segment, issuer) = match resolve(&state, &tenant_segment)? {
        TenantRef::Tenant(t) => (t.id.to_string(), state.issuer(t.id)),
        TenantRef::Common => ("common".to_owned(), format!("{base}/{{tenantid}}/")),
    };
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{segment}/oauth2/authorize"),
        "token_endpoint": format!("{base}/{segment}/oauth2/token"),
        "jwks_uri": format!("{base}/common/discovery/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "upn", "unique_name", "appid", "appidacr", "scp", "roles", "ver"],
        "tenant_region_scope": "WW",
        "cloud_instance_name": "latchkey",
    });
    Ok(cacheable(Json(document).into_response()))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration_v2(
    State(state): State<Arc<AppState>>,
    Path(tenant_segment): Path<String>,
) -> Result<Response, ProtocolError> {
    let base = &state.config.public_url;
    let (segment, issuer) = match resolve(&state, &tenant_segment)? {
        TenantRef::Tenant(t) => (t.id.to_string(), state.issuer_v2(t.id)),
        TenantRef::Common => ("common".to_owned(), format!("{base}/{{tenantid}}/v2.0")),
    };
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{segment}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{segment}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/common/discovery/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["refresh_token", "client_credentials", "password", "authorization_code"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "tenant_region_scope": "WW",
        "cloud_instance_name": "latchkey",
    });
    Ok(cacheable(Json(document).into_response()))
}

/// `GET /{tenant}/discovery/keys` (and `/common/discovery/keys`).
pub async fn jwks(
    State(state): State<Arc<AppState>>,
    Path(tenant_segment): Path<String>,
) -> Result<Response, ProtocolError> {
    resolve(&state, &tenant_segment)?;
    let keys: Vec<_> = state.published_keys.iter().map(|k| k.jwk()).collect();
    Ok(cacheable(Json(json!({ "keys": keys })).into_response()))
}

fn resolve<'a>(state: &'a AppState, segment: &str) -> Result<TenantRef<'a>, ProtocolError> {
    state.directory.resolve_tenant(segment).ok_or_else(|| {
        Aadsts::TenantNotFound {
            tenant: segment.to_owned(),
        }
        .into()
    })
}

/// Discovery and keys change rarely: let clients cache them for a while.
fn cacheable(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    response
}

/// `GET /common/UserRealm/{user}`: Azure AD's home realm discovery, which
/// ADAL asks before a password grant. Every tenant here is managed (the
/// password is checked here); a domain no tenant has is `Unknown`.
pub async fn user_realm(State(state): State<Arc<AppState>>, Path(user): Path<String>) -> Response {
    let domain = user
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    let known = !domain.is_empty()
        && matches!(
            state.directory.resolve_tenant(&domain),
            Some(TenantRef::Tenant(_))
        );
    let document = json!({
        "ver": "1.0",
        "account_type": if known { "Managed" } else { "Unknown" },
        "domain_name": domain,
        "cloud_instance_name": "latchkey",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    });
    Json(document).into_response()
}
