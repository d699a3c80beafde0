//! OpenID Connect discovery (v1 and v2.0), the JWKS, and user realm discovery.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{Aadsts, Version};
use serde_json::json;

use crate::ProtocolError;
use crate::directory::TenantRef;
use crate::state::AppState;
use crate::tenant_segment::TenantSegment;

/// `GET /{tenant}/.well-known/openid-configuration`.
pub async fn openid_configuration(
    State(state): State<Arc<AppState>>,
    TenantSegment(tenant_segment): TenantSegment,
) -> Result<Response, ProtocolError> {
    configuration(&state, &tenant_segment, Version::V1)
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration_v2(
    State(state): State<Arc<AppState>>,
    TenantSegment(tenant_segment): TenantSegment,
) -> Result<Response, ProtocolError> {
    configuration(&state, &tenant_segment, Version::V2)
}

/// The discovery document of one endpoint generation. `common` answers
/// with Azure AD's `{tenantid}` template in the issuer.
fn configuration(
    state: &AppState,
    tenant_segment: &str,
    version: Version,
) -> Result<Response, ProtocolError> {
    let base = &state.config.public_url;
    let tenant = resolve(state, tenant_segment)?;
    // What the tenant signs its ID tokens with; `common`, every tenant's.
    let signing_algs: Vec<&str> = match tenant {
        TenantRef::Tenant(t) => vec![t.signing_alg.as_str()],
        TenantRef::Common => state.signing_algs().iter().map(|a| a.as_str()).collect(),
    };
    let (segment, issuer) = match (tenant, version) {
        (TenantRef::Tenant(t), Version::V1) => (t.id.to_string(), state.issuer(t.id)),
        (TenantRef::Tenant(t), Version::V2) => (t.id.to_string(), state.issuer_v2(t.id)),
        (TenantRef::Common, Version::V1) => ("common".to_owned(), format!("{base}/{{tenantid}}/")),
        (TenantRef::Common, Version::V2) => {
            ("common".to_owned(), format!("{base}/{{tenantid}}/v2.0"))
        }
    };
    let (oauth2, client_claims) = match version {
        Version::V1 => ("oauth2", &["appid", "appidacr"][..]),
        Version::V2 => ("oauth2/v2.0", &["azp", "azpacr", "preferred_username"][..]),
    };
    // Where Azure AD's documents point: v1 at the common keys, v2.0 at the
    // tenant's `discovery/v2.0/keys` (the same keys here).
    let jwks_uri = match version {
        Version::V1 => format!("{base}/common/discovery/keys"),
        Version::V2 => format!("{base}/{segment}/discovery/v2.0/keys"),
    };
    let mut claims = vec![
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "nbf",
        "oid",
        "tid",
        "upn",
        "unique_name",
        "scp",
        "roles",
        "ver",
    ];
    claims.extend_from_slice(client_claims);
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{segment}/{oauth2}/authorize"),
        "token_endpoint": format!("{base}/{segment}/{oauth2}/token"),
        "device_authorization_endpoint": format!("{base}/{segment}/{oauth2}/devicecode"),
        "end_session_endpoint": format!("{base}/{segment}/{oauth2}/logout"),
        "jwks_uri": jwks_uri,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        // RFC 8414: the `grant_type` values of the token endpoint, so
        // on-behalf-of by its wire name (Azure AD's document lists none).
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": signing_algs,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "tenant_region_scope": "WW",
        "cloud_instance_name": "latchkey",
    });
    Ok(cacheable(Json(document).into_response()))
}

/// `GET /{tenant}/discovery/keys` and `/{tenant}/discovery/v2.0/keys`
/// (`common` too).
pub async fn jwks(
    State(state): State<Arc<AppState>>,
    TenantSegment(tenant_segment): TenantSegment,
) -> Result<Response, ProtocolError> {
    resolve(&state, &tenant_segment)?;
    let published = state.published_keys();
    let keys: Vec<_> = published.iter().map(|k| k.jwk()).collect();
    // An hour, not a day: a key announced by rotation must reach caches
    // that obey this well before it signs (`keys rotate` waits two hours).
    let mut response = Json(json!({ "keys": keys })).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600, private"),
    );
    Ok(response)
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
/// ADAL and MSAL ask before a password grant. Every tenant here is managed (the
/// password is checked here); a domain no tenant has is `Unknown`.
/// A user segment that is not UTF-8 names no domain: `Unknown`.
pub async fn user_realm(
    State(state): State<Arc<AppState>>,
    user: Result<Path<String>, PathRejection>,
) -> Response {
    let user = user.map(|Path(user)| user).unwrap_or_default();
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
