//! The device login page (RFC 8628 §3.3), `GET|POST /devicelogin`: the
//! `verification_uri` a device shows. The person types the user code;
//! from there the authorize endpoint's own steps (`steps::Flow`) sign them
//! in, ask the second factor and consent on the same pages, with the same
//! session and CSRF tokens, and finish in the device's authorization
//! instead of a code: approved, or declined.
//!
//! Nothing here is ever redirected to a client. The person always
//! confirms on the consent page (a CSRF-checked form naming the app and
//! the code), even when signed in and consented already: a link to this
//! page with someone else's user code must never approve their device by
//! itself. Every user-code lookup, found or not, spends the client
//! address's allowance (`SignInLimits::admit_user_code`), which bounds
//! guessing.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use latchkey_protocol::Aadsts;

use super::pages;
use super::params::Params;
use super::request::{Prompt, Request};
use super::steps::{Finish, Flow};
use super::target::Target;
use crate::ProtocolError;
use crate::context::RequestContext;
use crate::device_authorization::normalize_user_code;
use crate::directory::User;
use crate::request_body::BodyLimits;
use crate::scope::permitted_scopes;
use crate::state::AppState;
use crate::store::{DeviceCodeRecord, DeviceCodeStatus, SessionRecord};

/// Where the device login page is: one page for every tenant, as Azure
/// AD's; the user code names the tenant.
pub const PAGE_PATH: &str = "/devicelogin";

const WRONG_CODE: &str = "That code didn't work. Check the code and try again: it may have expired, or have been used already.";

const TOO_MANY: &str = "There have been too many attempts to enter a code from this network. Wait a minute, then try again.";

pub async fn device_login_endpoint(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
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
        Err(condition) => return super::error_page(&state, &ctx, None, condition),
    };
    let Some(entered) = params.first("user_code") else {
        return pages::device_code(PAGE_PATH, "", None, StatusCode::OK);
    };
    if let Err(retry_after) = state.sign_in_limits.admit_user_code(ctx.client_ip) {
        tracing::info!(trace_id = %ctx.ids.trace_id, "user code lookups throttled");
        let mut response =
            pages::device_code(PAGE_PATH, "", Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return response;
    }
    let user_code = normalize_user_code(entered);
    let record = match state
        .store
        .pending_device_code(&user_code, ctx.unix_now())
        .await
    {
        Ok(Some(record)) => record,
        Ok(None) => {
            return pages::device_code(PAGE_PATH, entered, Some(WRONG_CODE), StatusCode::OK);
        }
        Err(err) => return failed(&state, &ctx, ProtocolError::from(err)),
    };
    // The app or its tenant may have left the directory since.
    let app = state.directory.app(&record.client_id.to_string());
    let tenant = state.directory.tenant(record.tenant_id);
    let (Some(app), Some(tenant)) = (app, tenant) else {
        return pages::device_code(PAGE_PATH, entered, Some(WRONG_CODE), StatusCode::OK);
    };
    let tenant_segment = tenant.id.to_string();
    let page = format!("{}{PAGE_PATH}", state.config.public_url);
    let target = Target::device(&state, tenant, &tenant_segment, app, page);
    let flow = Flow {
        state: &state,
        ctx: &ctx,
        target: &target,
        params: &params,
        headers: &headers,
        method: &method,
        finish: Finish::Device(&record),
    };
    match flow.run().await {
        Ok(response) => response,
        Err(error) => failed(&state, &ctx, error),
    }
}

/// A refusal on the way: shown on the error page, never redirected.
fn failed(state: &AppState, ctx: &RequestContext, error: ProtocolError) -> Response {
    if let Some(detail) = error.internal_detail() {
        tracing::error!(trace_id = %ctx.ids.trace_id, detail, "device login failed");
    }
    super::error_page(state, ctx, None, error.condition().clone())
}

/// The request a device authorization stands for, checked again against
/// the directory as it is now (the app's permissions may have changed).
/// Consent is always asked: see the module's documentation.
pub(super) fn request<'a>(
    state: &'a AppState,
    target: &Target<'a>,
    record: &DeviceCodeRecord,
) -> Result<Request<'a>, Aadsts> {
    let api = state
        .directory
        .api(target.tenant.id, &record.resource)
        .ok_or_else(|| Aadsts::ResourceNotFound {
            resource: record.resource.clone(),
            tenant: target.tenant_segment.to_owned(),
        })?;
    let asked = record.scope.split_whitespace().map(str::to_owned).collect();
    Ok(Request {
        api,
        scopes: permitted_scopes(target.app, api, asked)?,
        oidc: record
            .oidc_scope
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        challenge: None,
        // The API's policy asks the second factor here as at the
        // authorize endpoint (the token endpoint holds the sign-in to it).
        mfa_asked: api.require_mfa,
        prompt: Prompt::Consent,
        nonce: None,
        login_hint: None,
    })
}

impl Flow<'_> {
    /// The person signed in and accepted: the device's next poll gets
    /// tokens for them.
    pub(super) async fn approve_device(
        &self,
        record: &DeviceCodeRecord,
        user: &User,
        session: &SessionRecord,
    ) -> Result<Response, ProtocolError> {
        let approved = DeviceCodeStatus::Approved {
            user_oid: user.object_id,
            auth_methods: session.auth_methods().to_owned(),
        };
        self.decide(record, &approved).await
    }

    /// The person declined: the device's next poll is told so.
    pub(super) async fn decline_device(
        &self,
        record: &DeviceCodeRecord,
    ) -> Result<Response, ProtocolError> {
        self.decide(record, &DeviceCodeStatus::Declined).await
    }

    async fn decide(
        &self,
        record: &DeviceCodeRecord,
        decision: &DeviceCodeStatus,
    ) -> Result<Response, ProtocolError> {
        let decided = self
            .state
            .store
            .decide_device_code(&record.user_code, decision, self.ctx.unix_now())
            .await?;
        if !decided {
            // Expired, or decided in another tab meanwhile.
            return Ok(pages::device_code(
                PAGE_PATH,
                "",
                Some(WRONG_CODE),
                StatusCode::OK,
            ));
        }
        let approved = matches!(decision, DeviceCodeStatus::Approved { .. });
        tracing::info!(
            trace_id = %self.ctx.ids.trace_id, client_id = %record.client_id, approved,
            "device authorization decided"
        );
        Ok(pages::device_done(&self.target.app.name, approved))
    }
}
