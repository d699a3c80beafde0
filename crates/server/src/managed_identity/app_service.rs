//! The App Service / Functions protocol, api-version 2019-08-01:
//! `GET {IDENTITY_ENDPOINT}?resource=…&api-version=2019-08-01` with the
//! `X-IDENTITY-HEADER` secret, optionally naming a user-assigned identity
//! by `client_id`, `principal_id` (MSAL sends `object_id`) or `mi_res_id`.
//!
//! Checks in order: the secret (before anything is read), the query
//! (a repeated parameter, `api-version`, `resource`, at most one identity
//! named), the identity, the resource. Refusals are App Service's
//! `{"statusCode","message","correlationId"}`, which MSAL reads.

use std::sync::Arc;

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{AppServiceError, AppServiceToken, TokenErrorResponse, bounded};

use super::{MiState, Params, find, issue};
use crate::context::RequestContext;
use crate::sign_in_log::SignIn;
use crate::state::AppState;

/// The one api-version served (the 2017-09-01 protocol, with its `secret`
/// header and dates, is not).
const API_VERSION: &str = "2019-08-01";

/// The secret's header.
const SECRET_HEADER: &str = "x-identity-header";

pub(super) async fn token(
    State(mi): State<MiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let state: Arc<AppState> = mi.shared.current();
    let refuse = |status: StatusCode, message: String| refusal(&ctx, status, message);
    let mut presented = headers.get_all(SECRET_HEADER).iter();
    let secret = match (presented.next(), presented.next()) {
        (None, _) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "The request has no X-IDENTITY-HEADER header: send the value of IDENTITY_HEADER in it.".to_owned(),
            );
        }
        (Some(_), Some(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "The X-IDENTITY-HEADER header is present more than once.".to_owned(),
            );
        }
        (Some(value), None) => value.to_str().unwrap_or_default(),
    };
    if !mi.secret.matches(secret) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The X-IDENTITY-HEADER header is not this endpoint's IDENTITY_HEADER.".to_owned(),
        );
    }
    let params = Params::parse(query.as_deref());
    if let Some(name) = &params.repeated {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("The query parameter '{name}' is present more than once."),
        );
    }
    match params.get("api-version") {
        None => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!(
                    "The api-version query parameter is required (this endpoint serves {API_VERSION})."
                ),
            );
        }
        Some(API_VERSION) => {}
        Some(other) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!(
                    "The HTTP resource that matches the request URI does not support the API version '{}'; this endpoint serves {API_VERSION}.",
                    bounded(other)
                ),
            );
        }
    }
    let Some(resource) = params.get("resource") else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The resource query parameter is required.".to_owned(),
        );
    };
    let Ok(selector) = params.selector("client_id", &["principal_id", "object_id"], "mi_res_id")
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Name at most one identity: client_id, principal_id (object_id) or mi_res_id."
                .to_owned(),
        );
    };
    let Some((tenant, identity)) = find(&state, mi.tenant, &selector) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Unable to load the proper Managed Identity.".to_owned(),
        );
    };
    match issue(&state, &ctx, tenant, identity, resource) {
        Ok(issued) => {
            let body = AppServiceToken {
                access_token: issued.access_token,
                expires_on: issued.expires_on.to_string(),
                resource: resource.to_owned(),
                token_type: "Bearer".to_owned(),
                client_id: issued.client_id,
            };
            let app = Some(body.client_id.clone());
            let mut response = json(StatusCode::OK, body.to_json());
            SignIn::of(&mut response).app = app;
            response
        }
        // An internal failure is the seed's 500 document, logged with its
        // detail by the context layer.
        Err(error) if error.internal_detail().is_some() => error.into_response(),
        Err(error) => {
            // Azure AD's refusal (an unknown resource), passed on in App
            // Service's shape: its AADSTS text is the message.
            let profile = error
                .profile()
                .or(tenant.profile)
                .unwrap_or(state.config.profile);
            let document = TokenErrorResponse::new(error.condition(), &ctx.ids, profile);
            let mut response = refuse(StatusCode::BAD_REQUEST, document.error_description);
            SignIn::refuse(&mut response, error.condition(), None);
            response
        }
    }
}

fn refusal(ctx: &RequestContext, status: StatusCode, message: String) -> Response {
    tracing::info!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, status = status.as_u16(), message, "managed identity request refused (App Service protocol)");
    let body = AppServiceError {
        status_code: status.as_u16(),
        message,
        correlation_id: ctx.ids.correlation_id.to_string(),
    };
    json(status, body.to_json())
}

/// A JSON answer of either protocol; never cached (it may hold a token).
pub(super) fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
