//! The error codes of both seeds, with where each may appear, its HTTP
//! status there and the seed's "client action". One table: every fact about
//! a code lives in one `match` arm below.

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
    /// "Prompt the user to use a different account or to request permissions".
    PromptDifferentAccount,
    /// "Notify the user that it cannot proceed unless the user consents".
    AskForConsent,
    /// "Retry the request with the same resource", interactively.
    InteractionRequired,
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
}

/// An OAuth 2.0 error code as the seeds list it (RFC 6749 §4.1.2.1, §5.2,
/// RFC 6750 §3.1, plus the OpenID Connect codes Azure AD also sends).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// "Protocol error, such as a missing required parameter."
    InvalidRequest,
    /// "The client application is not permitted to request an authorization
    /// code" / "not authorized to use this authorization grant type".
    UnauthorizedClient,
    /// "Resource owner denied consent."
    AccessDenied,
    /// "The authorization server does not support the response type."
    UnsupportedResponseType,
    /// "The server encountered an unexpected error."
    ServerError,
    /// "The server is temporarily too busy to handle the request."
    TemporarilyUnavailable,
    /// "The target resource is invalid because it does not exist, Azure AD
    /// cannot find it, or it is not correctly configured."
    InvalidResource,
    /// "The authorization grant (or its parameters) or refresh token is
    /// invalid, expired, or revoked."
    InvalidGrant,
    /// "Client authentication failed."
    InvalidClient,
    /// "The authorization server does not support the authorization grant type."
    UnsupportedGrantType,
    /// "The request requires user interaction."
    InteractionRequired,
    /// RFC 6749 §5.2: the requested scope is invalid, unknown or malformed.
    InvalidScope,
    /// OpenID Connect: `prompt=none` but the user is not signed in.
    LoginRequired,
    /// OpenID Connect: `prompt=none` but consent is needed.
    ConsentRequired,
    /// RFC 6750: "The access token is missing, invalid, or is revoked."
    InvalidToken,
    /// RFC 6750: "The access token does not contain the impersonation
    /// permissions required to access the resource."
    InsufficientScope,
    /// Azure AD: "The subject of the token does not have the permissions
    /// that are required to access the resource."
    InsufficientAccess,
    /// A code this crate does not know, kept verbatim. Only parsing makes it.
    Extension(String),
}

impl ErrorCode {
    /// Every known code, for tables and tests.
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::InvalidRequest,
        ErrorCode::UnauthorizedClient,
        ErrorCode::AccessDenied,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::InvalidResource,
        ErrorCode::InvalidGrant,
        ErrorCode::InvalidClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InteractionRequired,
        ErrorCode::InvalidScope,
        ErrorCode::LoginRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::InsufficientAccess,
    ];

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidResource => "invalid_resource",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InsufficientAccess => "insufficient_access",
            ErrorCode::Extension(other) => other,
        }
    }

    /// The surfaces on which the seeds (or the RFCs they cite) let this code
    /// appear.
    pub fn surfaces(&self) -> &'static [Surface] {
        use Surface::*;
        match self {
            ErrorCode::InvalidRequest => &[Authorize, Token, Resource],
            ErrorCode::UnauthorizedClient
            | ErrorCode::ServerError
            | ErrorCode::TemporarilyUnavailable
            | ErrorCode::InvalidResource
            | ErrorCode::InvalidScope
            | ErrorCode::InteractionRequired => &[Authorize, Token],
            ErrorCode::AccessDenied
            | ErrorCode::UnsupportedResponseType
            | ErrorCode::LoginRequired
            | ErrorCode::ConsentRequired => &[Authorize],
            ErrorCode::InvalidGrant
            | ErrorCode::InvalidClient
            | ErrorCode::UnsupportedGrantType => &[Token],
            ErrorCode::InvalidToken
            | ErrorCode::InsufficientScope
            | ErrorCode::InsufficientAccess => &[Resource],
            ErrorCode::Extension(_) => &[],
        }
    }

    /// Whether the code may appear on `surface`.
    pub fn is_valid_on(&self, surface: Surface) -> bool {
        self.surfaces().contains(&surface)
    }

    /// The HTTP status the token endpoint answers with (seed: "400 Default
    /// HTTP code … 401 Authentication failed … 500 internal error"; 503 for
    /// overload so that proxies and clients see it is temporary).
    pub fn token_status(&self) -> u16 {
        match self {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The HTTP status a secured resource answers with (seed 000's table).
    pub fn resource_status(&self) -> u16 {
        match self {
            ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope | ErrorCode::InsufficientAccess => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The seed's client action for this code on `surface`.
    pub fn client_action(&self, surface: Surface) -> ClientAction {
        match (self, surface) {
            (ErrorCode::InvalidRequest, _) => ClientAction::FixRequest,
            // Token seed: "Fix and resubmit the request."
            (ErrorCode::InvalidGrant, _) => ClientAction::FixRequest,
            (ErrorCode::UnauthorizedClient, _) | (ErrorCode::InvalidResource, _) => {
                ClientAction::InstallApplication
            }
            (ErrorCode::AccessDenied, _) | (ErrorCode::ConsentRequired, _) => {
                ClientAction::AskForConsent
            }
            (ErrorCode::UnsupportedResponseType, _) | (ErrorCode::InvalidScope, _) => {
                ClientAction::FixRequest
            }
            (ErrorCode::ServerError, _) | (ErrorCode::TemporarilyUnavailable, _) => {
                ClientAction::RetryWithDelay
            }
            (ErrorCode::InvalidClient, _) => ClientAction::FixCredentials,
            (ErrorCode::UnsupportedGrantType, _) => ClientAction::ChangeGrantType,
            (ErrorCode::InteractionRequired, _) | (ErrorCode::LoginRequired, _) => {
                ClientAction::InteractionRequired
            }
            (ErrorCode::InvalidToken, _) => ClientAction::RequestNewToken,
            (ErrorCode::InsufficientScope, _) => ClientAction::ReauthorizeWithScope,
            (ErrorCode::InsufficientAccess, _) => ClientAction::PromptDifferentAccount,
            // An unknown code: nothing safe to do automatically.
            (ErrorCode::Extension(_), _) => ClientAction::FixRequest,
        }
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
            "slow_down".parse::<ErrorCode>().unwrap(),
            ErrorCode::Extension("slow_down".into())
        );
    }

    #[test]
    fn token_seed_table() {
        use ClientAction::*;
        // (code, status, action) exactly as seed 001's token tables read.
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
            assert_eq!(code.client_action(Surface::Token), action, "{code}");
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
            assert_eq!(code.client_action(Surface::Authorize), action, "{code}");
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
            assert_eq!(code.client_action(Surface::Resource), action, "{code}");
        }
        assert!(!ErrorCode::InvalidClient.is_valid_on(Surface::Resource));
    }
}
