//! `GET|POST /{tenant}/oauth2/authorize` (RFC 6749 §4.1, Azure AD v1) and
//! `/{tenant}/oauth2/v2.0/authorize`, where `scope` names the API instead
//! of `resource` (`api://files/Files.Read openid`).
//!
//! Until the client and its redirect URI are known to be genuine
//! (`target`), nothing is sent to the redirect URI: an error is shown on
//! our own page (docs/spec/seed-001-error-handling.md: "returned … as HTTP
//! 200 errors on a web page").
//! From then on, every error goes back to the client (302, fragment, or
//! form post) with `state`.
//!
//! The person's path (`steps`): sign-in page → (second factor) →
//! (consent) → code (`code`). Each page posts back here with the request's
//! parameters as hidden fields and a CSRF token; sign-in and the second
//! factor answer 303 back to this endpoint, so the request is validated
//! afresh (`request`) at every step.

mod code;
mod device;
pub(crate) mod pages;
mod params;
mod request;
pub(crate) mod session;
mod steps;
mod target;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use latchkey_protocol::{Aadsts, GrantType, Profile, Surface, TokenErrorResponse, Version};

use crate::ProtocolError;
use crate::context::RequestContext;
use crate::directory::TenantRef;
use crate::request_body::BodyLimits;
use crate::scenarios::{Facts, Injection, Probe};
use crate::scope::v2_scope;
use crate::sign_in_log::{Endpoint, SignIn};
use crate::state::AppState;
use crate::telemetry;
use crate::tenant_segment::TenantSegment;
pub(crate) use device::{PAGE_PATH as DEVICE_PAGE_PATH, device_login_endpoint};
pub(crate) use params::Params;
use steps::{Finish, Flow};
use target::Target;
pub(crate) use target::registers_redirect_uri;

pub async fn authorize_endpoint(
    State(state): State<Arc<AppState>>,
    tenant_segment: Result<TenantSegment, ProtocolError>,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let request = Incoming {
        tenant_segment: tenant_segment
            .map(|TenantSegment(segment)| segment)
            .map_err(|error| error.condition().clone()),
        method,
        headers,
        query,
        version: Version::V1,
    };
    let mut response = authorize(&state, &ctx, request, body).await;
    SignIn::at_endpoint_if_noted(&mut response, Endpoint::Authorize);
    response
}

pub async fn authorize_endpoint_v2(
    State(state): State<Arc<AppState>>,
    tenant_segment: Result<TenantSegment, ProtocolError>,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let request = Incoming {
        tenant_segment: tenant_segment
            .map(|TenantSegment(segment)| segment)
            .map_err(|error| error.condition().clone()),
        method,
        headers,
        query,
        version: Version::V2,
    };
    let mut response = authorize(&state, &ctx, request, body).await;
    SignIn::at_endpoint_if_noted(&mut response, Endpoint::AuthorizeV2);
    response
}

/// An authorization request as it arrived, before anything is trusted.
struct Incoming {
    /// `Err` when the segment could not be decoded (AADSTS900023).
    tenant_segment: Result<String, Aadsts>,
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
        BodyLimits::of(&state.config),
    )
    .await
    {
        Ok(params) => params,
        Err(condition) => return error_page(state, ctx, None, condition),
    };
    let tenant_segment = match tenant_segment {
        Ok(segment) => segment,
        Err(condition) => return error_page(state, ctx, None, condition),
    };
    let Some(tenant) = state.directory.resolve_tenant(&tenant_segment) else {
        return error_page(
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
        Err(condition) => return error_page(state, ctx, tenant_profile, condition),
    };
    // Overload is answered to the client like any other error.
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        telemetry::overload_refused(match version {
            Version::V1 => "/{tenant}/oauth2/authorize",
            Version::V2 => "/{tenant}/oauth2/v2.0/authorize",
        });
        return target.refuse(state, ctx, Aadsts::Throttled.into());
    };
    let _in_flight = telemetry::InFlight::start();
    if let Some(injection) = fire_scenario(state, &target, &params) {
        injection.delay().await;
        tracing::info!(scenario = injection.id, error = %injection.code, injected = true, "scenario fired");
        let condition = injected_condition(state, &injection, &target, &params);
        let error = ProtocolError::from(condition).injected_by(injection.id);
        return target.refuse(state, ctx, error);
    }
    let flow = Flow {
        state,
        ctx,
        target: &target,
        params: &params,
        headers: &headers,
        method: &method,
        finish: Finish::Code,
    };
    match flow.run().await {
        Ok(response) => response,
        Err(error) => target.refuse(state, ctx, error),
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
    state.scenarios.fire(Surface::Authorize, &probe)
}

/// The API asked for, as far as it can be told before validation:
/// `resource` in v1, the API the `scope` names in v2.0.
fn requested_resource(state: &AppState, target: &Target<'_>, params: &Params) -> Option<String> {
    match target.version {
        Version::V1 => params.first("resource").map(str::to_owned),
        Version::V2 => params
            .first("scope")
            .and_then(|scope| {
                v2_scope(
                    &state.directory,
                    target.tenant,
                    target.tenant_segment,
                    scope,
                )
                .ok()
            })
            .map(|(api, _)| api.app_id_uri.clone()),
    }
}

fn injected_condition(
    state: &AppState,
    injection: &Injection,
    target: &Target<'_>,
    params: &Params,
) -> Aadsts {
    let resource = requested_resource(state, target, params).unwrap_or_default();
    injection.condition(Facts {
        client_id: target.app.client_id.to_string(),
        app_name: &target.app.name,
        tenant_segment: target.tenant_segment,
        grant: GrantType::AuthorizationCode,
        resource: &resource,
        scope: params.first("scope"),
        response_type: params.first("response_type"),
    })
}

/// The error page, for a request whose redirect URI cannot be trusted
/// (and for sign-out's errors). HTTP 200 as the seed says; 400 in the
/// strict profile.
pub(crate) fn error_page(
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
    let lookup = format!("{}{}", state.config.public_url, crate::error_lookup::PATH);
    let mut response = pages::error(&doc, &message, status, &lookup);
    response
        .extensions_mut()
        .insert(telemetry::Refused(condition.spec()));
    SignIn::refuse(&mut response, &condition, None);
    response
}
