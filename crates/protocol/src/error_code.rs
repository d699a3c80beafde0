//! The error codes of both seeds, with where each may appear, its HTTP
//! status there and the seeds' "client action". One table: every fact about
//! a code lives in its one row of `error_codes!` below.

use std::fmt;
use std::str::FromStr;

/// The three places an OAuth 2.0 error reaches a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    /// `/{tenant}/oauth2/authorize`: a redirect (or the error page).
    Authorize,
    /// `/{tenant}/oauth2/token`: a JSON document.
    Token,
    /// A secured resource: an RFC 6750 `WWW-Authenticate` challenge.
    Resource,
}

/// What the client should do about an error: the seeds' "Client Action"
/// column, one variant per distinct action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAction {
    /// "Fix and resubmit the request": a development error, never retried.
    FixRequest,
    /// "Retry the request" after random delays: a temporary condition.
    RetryWithDelay,
    /// "Request a new token from the authorization server", once.
    RequestNewToken,
    /// "Send a new authorization request … use the scope value".
    ReauthorizeWithScope,
    /// Send a new authorization request with the challenge's `claims`
    /// (Azure AD's claims challenge; not in the seeds): the person passes
    /// what the claims ask for, e.g. a second factor.
    ReauthorizeWithClaims,
    /// "Prompt the user to use a different account or to request permissions".
    PromptDifferentAccount,
    /// "Notify the user that it cannot proceed unless the user consents".
    AskForConsent,
    /// "Retry the request with the same resource", interactively.
    InteractionRequired,
    /// "Repeat the request after at least `interval` seconds" (RFC 8628
    /// §3.5: the device flow's polling; `slow_down` adds 5 seconds).
    PollAgain,
    /// "The application administrator updates the credentials".
    FixCredentials,
    /// "Prompt the user with instruction for installing the application
    /// and adding it to Azure AD": the app or resource is not set up.
    InstallApplication,
    /// "Change the grant type in the request".
    ChangeGrantType,
}

impl ClientAction {
    /// Whether carrying out the action means sending the same request again
    /// (after a delay) without any change by a person.
    pub fn is_automatic_retry(self) -> bool {
        matches!(self, ClientAction::RetryWithDelay)
    }

    /// The action in the seeds' words, as docs/errors.md and the error
    /// lookup page (`/error?code=`) write it.
    pub fn text(self) -> &'static str {
        match self {
            ClientAction::FixRequest => "fix and resubmit the request",
            ClientAction::RetryWithDelay => "retry after random delays",
            ClientAction::RequestNewToken => "request a new token, once",
            ClientAction::ReauthorizeWithScope => "authorize again with the `scope` named",
            ClientAction::ReauthorizeWithClaims => "authorize again with the `claims` named",
            ClientAction::PromptDifferentAccount => {
                "prompt for a different account or for permissions"
            }
            ClientAction::AskForConsent => "tell the user it cannot proceed without consent",
            ClientAction::InteractionRequired => "retry interactively",
            ClientAction::FixCredentials => "the administrator updates the credentials",
            ClientAction::InstallApplication => "install the application and add it to the tenant",
            ClientAction::ChangeGrantType => "change the grant type",
            ClientAction::PollAgain => "poll again after `interval` seconds",
        }
    }
}

/// The facts of one error code: its row in the table below.
#[derive(Debug, PartialEq, Eq)]
pub struct CodeSpec {
    /// The wire spelling (empty for [`ErrorCode::Extension`], whose spelling
    /// is its own: see [`ErrorCode::as_str`]).
    pub wire: &'static str,
    /// The surfaces on which the seeds (or the RFCs they cite) let it appear.
    pub surfaces: &'static [Surface],
    /// The token endpoint's HTTP status (docs/spec/seed-001-error-handling.md:
    /// "400 Default HTTP code … 401 Authentication failed … 500 internal
    /// error"; 503 for overload so that proxies and clients see it is
    /// temporary).
    pub token_status: u16,
    /// A secured resource's HTTP status (docs/spec/seed-000-resource-errors.txt).
    pub resource_status: u16,
    /// The seeds' "Client Action", which is the same on every surface.
    pub action: ClientAction,
}

impl CodeSpec {
    /// A code this crate does not know: valid nowhere, 400, and nothing
    /// safe to do automatically.
    const EXTENSION: CodeSpec = CodeSpec {
        wire: "",
        surfaces: &[],
        token_status: 400,
        resource_status: 400,
        action: ClientAction::FixRequest,
    };
}

/// Counts the identifiers it is given, for the length of `ErrorCode::ALL`.
macro_rules! count {
    ($($name:ident)*) => {
        <[&str]>::len(&[$(stringify!($name)),*])
    };
}

/// Declares `ErrorCode` from its table: one row per code, so that a new code
/// is one edit. Each row reads: wire spelling, surfaces, token status,
/// resource status, client action.
macro_rules! error_codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, [$($surface:ident),*], $token:literal, $resource:literal, $action:ident;
    )*) => {
        /// An OAuth 2.0 error code as the seeds list it (RFC 6749 §4.1.2.1,
        /// §5.2, RFC 6750 §3.1, plus the OpenID Connect codes Azure AD also
        /// sends).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// A code this crate does not know, kept verbatim. Only parsing makes it.
            Extension(String),
        }

        impl ErrorCode {
            /// Every known code, for tables and tests.
            pub const ALL: [ErrorCode; count!($($variant)*)] = [$(ErrorCode::$variant),*];

            /// This code's row of the table.
            pub fn spec(&self) -> &'static CodeSpec {
                match self {
                    $(ErrorCode::$variant => &CodeSpec {
                        wire: $wire,
                        surfaces: &[$(Surface::$surface),*],
                        token_status: $token,
                        resource_status: $resource,
                        action: ClientAction::$action,
                    },)*
                    ErrorCode::Extension(_) => &CodeSpec::EXTENSION,
                }
            }
        }
    };
}

// The seeds' tables, merged: docs/spec/seed-001-error-handling.md for the
// authorization and token endpoints, docs/spec/seed-000-resource-errors.txt
// for secured resources. Columns: wire, surfaces, token status, resource
// status, client action.
error_codes! {
    /// "Protocol error, such as a missing required parameter."
    InvalidRequest = "invalid_request", [Authorize, Token, Resource], 400, 400, FixRequest;
    /// "The client application is not permitted to request an authorization
    /// code" / "not authorized to use this authorization grant type".
    UnauthorizedClient = "unauthorized_client", [Authorize, Token], 400, 400, InstallApplication;
    /// "Resource owner denied consent."
    AccessDenied = "access_denied", [Authorize], 400, 400, AskForConsent;
    /// "The authorization server does not support the response type."
    UnsupportedResponseType = "unsupported_response_type", [Authorize], 400, 400, FixRequest;
    /// "The server encountered an unexpected error."
    ServerError = "server_error", [Authorize, Token], 500, 500, RetryWithDelay;
    /// "The server is temporarily too busy to handle the request."
    TemporarilyUnavailable = "temporarily_unavailable", [Authorize, Token], 503, 503, RetryWithDelay;
    /// "The target resource is invalid because it does not exist, Azure AD
    /// cannot find it, or it is not correctly configured."
    InvalidResource = "invalid_resource", [Authorize, Token], 400, 400, InstallApplication;
    /// "The authorization grant (or its parameters) or refresh token is
    /// invalid, expired, or revoked." The token seed's action: "Fix and
    /// resubmit the request."
    InvalidGrant = "invalid_grant", [Token], 400, 400, FixRequest;
    /// "Client authentication failed."
    InvalidClient = "invalid_client", [Token], 401, 400, FixCredentials;
    /// "The authorization server does not support the authorization grant type."
    UnsupportedGrantType = "unsupported_grant_type", [Token], 400, 400, ChangeGrantType;
    /// "The request requires user interaction."
    InteractionRequired = "interaction_required", [Authorize, Token], 400, 400, InteractionRequired;
    /// RFC 6749 §5.2: the requested scope is invalid, unknown or malformed.
    InvalidScope = "invalid_scope", [Authorize, Token], 400, 400, FixRequest;
    /// OpenID Connect: `prompt=none` but the user is not signed in.
    LoginRequired = "login_required", [Authorize], 400, 400, InteractionRequired;
    /// OpenID Connect: `prompt=none` but consent is needed.
    ConsentRequired = "consent_required", [Authorize], 400, 400, AskForConsent;
    /// RFC 8628 §3.5: the person has not finished at the device login
    /// page yet. Azure AD's action: "Repeat the request after at least
    /// `interval` seconds."
    AuthorizationPending = "authorization_pending", [Token], 400, 400, PollAgain;
    /// RFC 8628 §3.5: polled faster than `interval`: poll again, 5 seconds
    /// slower.
    SlowDown = "slow_down", [Token], 400, 400, PollAgain;
    /// RFC 8628 §3.5 (Azure AD's spelling): the person declined at the
    /// device login page. "Stop polling and revert to an unauthenticated
    /// state."
    AuthorizationDeclined = "authorization_declined", [Token], 400, 400, AskForConsent;
    /// RFC 8628 §3.5: the device code outlived `expires_in`. "Stop polling
    /// and revert to an unauthenticated state": a new sign-in starts over.
    ExpiredToken = "expired_token", [Token], 400, 400, InteractionRequired;
    /// Azure AD: "The `device_code` sent to the `/token` endpoint wasn't
    /// recognized."
    BadVerificationCode = "bad_verification_code", [Token], 400, 400, FixRequest;
    /// Azure AD's instance discovery (`/common/discovery/instance`): the
    /// `authorization_endpoint` asked about is not an authority this
    /// server knows.
    InvalidInstance = "invalid_instance", [Token], 400, 400, FixRequest;
    /// RFC 6750: "The access token is missing, invalid, or is revoked."
    InvalidToken = "invalid_token", [Resource], 400, 401, RequestNewToken;
    /// RFC 6750: "The access token does not contain the impersonation
    /// permissions required to access the resource."
    InsufficientScope = "insufficient_scope", [Resource], 400, 403, ReauthorizeWithScope;
    /// Azure AD: "The subject of the token does not have the permissions
    /// that are required to access the resource."
    InsufficientAccess = "insufficient_access", [Resource], 400, 403, PromptDifferentAccount;
    /// Azure AD's claims challenge (not in the seeds): the token lacks
    /// claims the resource requires, e.g. `mfa` in `amr`; the challenge's
    /// `claims` is the claims request to authorize again with. 401, as
    /// Microsoft's protected APIs answer it.
    InsufficientClaims = "insufficient_claims", [Resource], 400, 401, ReauthorizeWithClaims;
}

impl ErrorCode {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Extension(other) => other,
            known => known.spec().wire,
        }
    }

    /// The surfaces on which the seeds (or the RFCs they cite) let this code
    /// appear.
    pub fn surfaces(&self) -> &'static [Surface] {
        self.spec().surfaces
    }

    /// Whether the code may appear on `surface`.
    pub fn is_valid_on(&self, surface: Surface) -> bool {
        self.surfaces().contains(&surface)
    }

    /// The HTTP status the token endpoint answers with.
    pub fn token_status(&self) -> u16 {
        self.spec().token_status
    }

    /// The HTTP status a secured resource answers with.
    pub fn resource_status(&self) -> u16 {
        self.spec().resource_status
    }

    /// The seeds' client action for this code.
    pub fn client_action(&self) -> ClientAction {
        self.spec().action
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .unwrap_or_else(|| ErrorCode::Extension(s.to_owned())))
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(s.parse().unwrap_or_else(|never| match never {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>().unwrap(), code);
        }
        assert_eq!(
            "code_expired".parse::<ErrorCode>().unwrap(),
            ErrorCode::Extension("code_expired".into())
        );
    }

    #[test]
    fn token_seed_table() {
        use ClientAction::*;
        // (code, status, action) exactly as the token tables of
        // docs/spec/seed-001-error-handling.md read.
        let table = [
            (ErrorCode::InvalidRequest, 400, FixRequest),
            (ErrorCode::InvalidGrant, 400, FixRequest),
            (ErrorCode::UnauthorizedClient, 400, InstallApplication),
            (ErrorCode::InvalidClient, 401, FixCredentials),
            (ErrorCode::UnsupportedGrantType, 400, ChangeGrantType),
            (ErrorCode::InvalidResource, 400, InstallApplication),
            (ErrorCode::InteractionRequired, 400, InteractionRequired),
            (ErrorCode::TemporarilyUnavailable, 503, RetryWithDelay),
            (ErrorCode::ServerError, 500, RetryWithDelay),
        ];
        for (code, status, action) in table {
            assert!(code.is_valid_on(Surface::Token), "{code}");
            assert_eq!(code.token_status(), status, "{code}");
            assert_eq!(code.client_action(), action, "{code}");
        }
    }

    #[test]
    fn authorize_seed_table() {
        use ClientAction::*;
        let table = [
            (ErrorCode::InvalidRequest, FixRequest),
            (ErrorCode::UnauthorizedClient, InstallApplication),
            (ErrorCode::AccessDenied, AskForConsent),
            (ErrorCode::UnsupportedResponseType, FixRequest),
            (ErrorCode::ServerError, RetryWithDelay),
            (ErrorCode::TemporarilyUnavailable, RetryWithDelay),
            (ErrorCode::InvalidResource, InstallApplication),
        ];
        for (code, action) in table {
            assert!(code.is_valid_on(Surface::Authorize), "{code}");
            assert_eq!(code.client_action(), action, "{code}");
        }
        assert!(!ErrorCode::InvalidGrant.is_valid_on(Surface::Authorize));
    }

    #[test]
    fn resource_seed_table() {
        use ClientAction::*;
        let table = [
            (ErrorCode::InvalidRequest, 400, FixRequest),
            (ErrorCode::InvalidToken, 401, RequestNewToken),
            (ErrorCode::InsufficientScope, 403, ReauthorizeWithScope),
            (ErrorCode::InsufficientAccess, 403, PromptDifferentAccount),
        ];
        for (code, status, action) in table {
            assert!(code.is_valid_on(Surface::Resource), "{code}");
            assert_eq!(code.resource_status(), status, "{code}");
            assert_eq!(code.client_action(), action, "{code}");
        }
        assert!(!ErrorCode::InvalidClient.is_valid_on(Surface::Resource));
    }
}
