//! The Instance Metadata Service's token endpoint:
//! `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`
//! with `Metadata: true`, optionally naming a user-assigned identity by
//! `client_id`, `object_id` or `msi_res_id`.
//!
//! Checks in order: the `Metadata` header (first, as IMDS: the Azure SDKs
//! probe for IMDS with a request without it and take any answer for
//! "IMDS is here"), the query (a repeated parameter, `api-version`,
//! `resource`, at most one identity named), the identity, the resource.
//! IMDS's own refusals are `{"error","error_description"}`, status 400
//! (a 404, 410, 429 or 5xx would make the SDKs retry for a minute); Azure
//! AD's (an unknown resource) are its document, as IMDS passes them on.

use std::sync::Arc;

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{ImdsError, ImdsToken, bounded};

use super::app_service::json;
use super::{MiState, Params, find, issue};
use crate::context::RequestContext;
use crate::sign_in_log::SignIn;
use crate::state::AppState;

/// The oldest api-version of IMDS's identity endpoint, which every Azure
/// SDK sends; later dated versions get the same answer.
const OLDEST_API_VERSION: &str = "2018-02-01";

pub(super) async fn token(
    State(mi): State<MiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let state: Arc<AppState> = mi.shared.current();
    let refuse = |description: String| refusal(&ctx, description);
    let mut metadata = headers.get_all("metadata").iter();
    let metadata_ok = match (metadata.next(), metadata.next()) {
        (Some(value), None) => value.as_bytes() == b"true",
        _ => false,
    };
    if !metadata_ok {
        return refuse("Required metadata header not specified".to_owned());
    }
    let params = Params::parse(query.as_deref());
    if let Some(name) = &params.repeated {
        return refuse(format!(
            "The query parameter '{name}' is present more than once"
        ));
    }
    match params.get("api-version") {
        None => {
            return refuse("Required query variable 'api-version' is missing".to_owned());
        }
        Some(version) if is_served_version(version) => {}
        Some(other) => {
            return refuse(format!(
                "Invalid api-version '{}': this endpoint serves {OLDEST_API_VERSION} and later dated versions",
                bounded(other)
            ));
        }
    }
    let Some(resource) = params.get("resource") else {
        return refuse("Required audience parameter not specified".to_owned());
    };
    let Ok(selector) = params.selector("client_id", &["object_id"], "msi_res_id") else {
        return refuse("Name at most one identity: client_id, object_id or msi_res_id".to_owned());
    };
    let Some((tenant, identity)) = find(&state, mi.tenant, &selector) else {
        return refuse("Identity not found".to_owned());
    };
    match issue(&state, &ctx, tenant, identity, resource) {
        Ok(issued) => {
            let lifetime = (issued.expires_on - ctx.unix_now()).to_string();
            let body = ImdsToken {
                access_token: issued.access_token,
                client_id: issued.client_id,
                expires_in: lifetime.clone(),
                expires_on: issued.expires_on.to_string(),
                ext_expires_in: lifetime,
                not_before: issued.not_before.to_string(),
                resource: resource.to_owned(),
                token_type: "Bearer".to_owned(),
            };
            let app = Some(body.client_id.clone());
            let mut response = json(StatusCode::OK, body.to_json());
            SignIn::of(&mut response).app = app;
            response
        }
        // Azure AD's refusal (an unknown resource: `invalid_resource`,
        // AADSTS500011) as its own document, with the tenant's profile;
        // an internal failure as the seed's 500. The context layer renders
        // both.
        Err(error) => error.with_profile(tenant.profile).into_response(),
    }
}

/// `2018-02-01`, or a later version written the same way.
fn is_served_version(version: &str) -> bool {
    let bytes = version.as_bytes();
    bytes.len() == OLDEST_API_VERSION.len()
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
        && version >= OLDEST_API_VERSION
}

fn refusal(ctx: &RequestContext, description: String) -> Response {
    tracing::info!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, status = 400, description, "managed identity request refused (IMDS protocol)");
    let body = ImdsError {
        error: "invalid_request".to_owned(),
        error_description: description,
    };
    json(StatusCode::BAD_REQUEST, body.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_versions_from_2018_02_01_are_served() {
        for version in ["2018-02-01", "2019-08-01", "2025-04-07"] {
            assert!(is_served_version(version), "{version}");
        }
        for version in ["2017-09-01", "2018-2-01", "latest", "2018-02-01x", ""] {
            assert!(!is_served_version(version), "{version}");
        }
    }
}
