//! The sign-in log: one record per authorize outcome, token, device-code
//! and managed identity request, kept in the store (`SignInLogStore`) so
//! replicas share one log, read by `latchkey logs`, the admin API and the
//! admin pages (`admin`).
//!
//! Where the facts come from: a handler puts a [`SignIn`] (the endpoint,
//! tenant, app, user, and a refusal that is not a `ProtocolError`: a
//! redirect, an error page) in its response's extensions, the token
//! endpoint the request's `GrantType` too; the request-context layer adds
//! the ids, the client address, the status and the `ProtocolError` that
//! becomes the answer, and hands the record to the [`writer`]'s queue.
//! A response without a `SignIn` with an endpoint (health, discovery,
//! keys, a page on the way to a sign-in) is not logged.
//!
//! Never a secret, password, code, token or assertion: a record holds
//! names, ids, numbers and the error code, nothing a request carried as a
//! credential.

pub(crate) mod admin;
mod entry;
mod pages;
mod writer;

use std::sync::OnceLock;

use axum::response::Response;
use latchkey_protocol::{Aadsts, GrantType};

use crate::ProtocolError;
use crate::context::RequestContext;
use crate::state::AppState;
use crate::store::SignInRecord;
pub use entry::{Entry, Filters, MAX_LIMIT, parse_since, rfc3339};
pub use writer::{SignInLog, SignInLogConfig};

/// The endpoint a record is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    TokenV2,
    Authorize,
    AuthorizeV2,
    DeviceCode,
    DeviceCodeV2,
    ManagedIdentityAppService,
    ManagedIdentityImds,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::TokenV2 => "token_v2",
            Endpoint::Authorize => "authorize",
            Endpoint::AuthorizeV2 => "authorize_v2",
            Endpoint::DeviceCode => "devicecode",
            Endpoint::DeviceCodeV2 => "devicecode_v2",
            Endpoint::ManagedIdentityAppService => "managed_identity_app_service",
            Endpoint::ManagedIdentityImds => "managed_identity_imds",
        }
    }
}

/// A refusal the answer does not carry as a `ProtocolError` (an error
/// redirected to the client, the error page, a sign-in page shown again).
#[derive(Debug, Clone)]
pub struct Refused {
    error: String,
    number: u32,
    suberror: Option<&'static str>,
    injected: Option<u64>,
}

impl Refused {
    pub fn of(condition: &Aadsts, injected: Option<u64>) -> Refused {
        Refused {
            error: condition.error_code().as_str().to_owned(),
            number: condition.number(),
            suberror: condition.suberror(),
            injected,
        }
    }
}

/// What a handler knows of a sign-in, in its response's extensions.
#[derive(Debug, Clone, Default)]
pub struct SignIn {
    /// Set by the endpoint: a response without one is not logged.
    pub endpoint: Option<Endpoint>,
    /// The tenant's id, or the segment as written.
    pub tenant: Option<String>,
    /// The client id as presented.
    pub app: Option<String>,
    /// The user's name, as signed in or as typed.
    pub user: Option<String>,
    pub refused: Option<Refused>,
}

/// Longer values (a client id or user name is short) are cut: a record is
/// never a place to store what a caller chose to send.
const MAX_FIELD: usize = 256;

/// `value`, cut to at most `MAX_FIELD` bytes on a character boundary.
pub(crate) fn bounded(value: &str) -> String {
    if value.len() <= MAX_FIELD {
        return value.to_owned();
    }
    let mut end = MAX_FIELD;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

impl SignIn {
    /// The response's `SignIn`, added if it has none.
    pub fn of(response: &mut Response) -> &mut SignIn {
        response.extensions_mut().get_or_insert_default::<SignIn>()
    }

    /// Notes that the answer refused the sign-in with `condition`.
    pub fn refuse(response: &mut Response, condition: &Aadsts, injected: Option<u64>) {
        SignIn::of(response).refused = Some(Refused::of(condition, injected));
    }

    /// Marks a response the endpoint's inner steps noted a sign-in on (an
    /// authorize outcome) as the endpoint's: the others are not logged.
    pub fn at_endpoint_if_noted(response: &mut Response, endpoint: Endpoint) {
        if let Some(sign_in) = response.extensions_mut().get_mut::<SignIn>() {
            sign_in.endpoint = Some(endpoint);
        }
    }
}

/// What the grants learn on the way (the user, once known), through the
/// `Caller` they share.
#[derive(Debug, Default)]
pub struct SignInNotes {
    user: OnceLock<String>,
}

impl SignInNotes {
    /// Notes the user a token speaks for (the first one noted stays).
    pub fn user(&self, upn: &str) {
        let _ = self.user.set(bounded(upn));
    }

    pub fn into_user(self) -> Option<String> {
        self.user.into_inner()
    }
}

/// The request-context layer's one call, before it renders the answer:
/// the response's sign-in, if it has one, goes to the log's queue.
pub(crate) fn observe(state: &AppState, ctx: &RequestContext, response: &Response) {
    let extensions = response.extensions();
    let Some(sign_in) = extensions.get::<SignIn>() else {
        return;
    };
    let Some(endpoint) = sign_in.endpoint else {
        return;
    };
    if !state.sign_in_log.has_room() {
        return;
    }
    let refused = extensions
        .get::<ProtocolError>()
        .map(|error| Refused::of(error.condition(), error.injected()))
        .or_else(|| sign_in.refused.clone());
    let status = response.status().as_u16();
    let failed = refused.is_some() || status >= 400;
    let record = SignInRecord {
        id: 0,
        time: ctx.unix_now(),
        tenant: sign_in.tenant.clone(),
        endpoint: endpoint.as_str().to_owned(),
        grant: extensions
            .get::<GrantType>()
            .map(|grant| grant.as_str().to_owned()),
        app: sign_in.app.clone(),
        user: sign_in.user.clone(),
        client_ip: ctx.client_ip.map(|ip| ip.to_string()),
        status,
        outcome: if failed { "failure" } else { "success" }.to_owned(),
        error: refused.as_ref().map(|r| r.error.clone()),
        error_codes: refused.as_ref().map(|r| r.number.to_string()),
        suberror: refused.as_ref().and_then(|r| r.suberror).map(str::to_owned),
        trace_id: ctx.ids.trace_id.to_string(),
        correlation_id: ctx.ids.correlation_id.to_string(),
        scenario: refused
            .as_ref()
            .and_then(|r| r.injected)
            .and_then(|id| i64::try_from(id).ok()),
    };
    state.sign_in_log.submit(record);
}
