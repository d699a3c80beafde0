//! `ProtocolError`: what every handler returns on failure, and its one
//! rendering. `into_response` is pure: it sets the status and headers and
//! leaves the error in a response extension; the request-context layer,
//! which knows the request's ids, writes the seed's JSON document and logs
//! the error (with any internal detail, which never reaches the client).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{Aadsts, Profile};

use crate::keys::KeyError;
use crate::secrets::RngError;
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub struct ProtocolError {
    condition: Aadsts,
    profile: Option<Profile>,
    basic_challenge: bool,
    retry_after: Option<u32>,
    /// A status other than the code's (404, 405 for a route, not a request).
    status: Option<StatusCode>,
    // Boxed `str`s keep the error small (clippy's `result_large_err`):
    // it is the `Err` of every handler.
    internal: Option<Box<str>>,
    /// The scenario that injected this error, if one did.
    injected: Option<u64>,
    /// The claims request the client must authorize again with (the
    /// document's `claims` member): what a policy needs.
    claims: Option<Box<str>>,
}

impl ProtocolError {
    pub fn new(condition: Aadsts) -> ProtocolError {
        ProtocolError {
            condition,
            profile: None,
            basic_challenge: false,
            retry_after: None,
            status: None,
            internal: None,
            injected: None,
            claims: None,
        }
    }

    /// Answers with `status` rather than the error code's own: for what is
    /// wrong with the route (404, 405), not with an OAuth request.
    pub fn with_status(mut self, status: StatusCode) -> ProtocolError {
        self.status = Some(status);
        self
    }

    /// A `server_error` whose `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> ProtocolError {
        ProtocolError {
            internal: Some(detail.to_string().into_boxed_str()),
            ..ProtocolError::new(Aadsts::ServerError)
        }
    }

    /// The client authenticated with HTTP Basic: answer 401 with a Basic
    /// challenge (RFC 6749 §5.2).
    pub fn with_basic_challenge(mut self) -> ProtocolError {
        self.basic_challenge = true;
        self
    }

    pub fn with_retry_after(mut self, seconds: u32) -> ProtocolError {
        self.retry_after = Some(seconds);
        self
    }

    /// Renders with the tenant's profile rather than the server's.
    pub fn with_profile(mut self, profile: Option<Profile>) -> ProtocolError {
        if self.profile.is_none() {
            self.profile = profile;
        }
        self
    }

    /// Marks the error as injected by scenario `id` (for the log only).
    pub fn injected_by(mut self, id: u64) -> ProtocolError {
        self.injected = Some(id);
        self
    }

    pub fn injected(&self) -> Option<u64> {
        self.injected
    }

    /// Adds the claims request (JSON) the client must authorize again with.
    pub fn with_claims(mut self, claims: String) -> ProtocolError {
        self.claims = Some(claims.into_boxed_str());
        self
    }

    /// The claims request the document carries, if any.
    pub fn claims(&self) -> Option<&str> {
        self.claims.as_deref()
    }

    pub fn condition(&self) -> &Aadsts {
        &self.condition
    }

    pub fn profile(&self) -> Option<Profile> {
        self.profile
    }

    pub fn internal_detail(&self) -> Option<&str> {
        self.internal.as_deref()
    }
}

impl From<Aadsts> for ProtocolError {
    fn from(condition: Aadsts) -> Self {
        ProtocolError::new(condition)
    }
}

impl From<StoreError> for ProtocolError {
    fn from(err: StoreError) -> Self {
        ProtocolError::internal(err)
    }
}

impl From<KeyError> for ProtocolError {
    fn from(err: KeyError) -> Self {
        ProtocolError::internal(err)
    }
}

impl From<RngError> for ProtocolError {
    fn from(err: RngError) -> Self {
        ProtocolError::internal(err)
    }
}

impl IntoResponse for ProtocolError {
    fn into_response(self) -> Response {
        // The condition's row decides (the catalogue's 403 for a user the
        // app does not admit), else its code's.
        let status = self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.condition.token_status()).unwrap_or(StatusCode::BAD_REQUEST)
        });
        let mut response = status.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge && status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"latchkey\", charset=\"UTF-8\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        response
    }
}
