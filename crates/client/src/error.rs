//! One error type for every surface, and the seed's client action for each.

use std::time::Duration;

use latchkey_protocol::{
    Aadsts, BearerChallenge, ClaimsRequest, ClientAction, ErrorCode, TokenErrorResponse,
};

/// What to do about an error: the seeds' "Client Action" column, as the
/// command line carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fix the request: a development error; retrying will not help.
    FixRequest,
    /// Retry after random delays: a temporary condition (already retried).
    RetryLater,
    /// The token was refused even after a fresh one: tell the user, retry later.
    RequestNewToken,
    /// Send a new authorization request, for this scope when the challenge names one.
    Reauthorize { scope: Option<String> },
    /// Send a new authorization request with this claims request (JSON),
    /// which a claims challenge or an `interaction_required` named: the
    /// person passes what it asks for (a second factor).
    ReauthorizeWithClaims { claims: String },
    /// Sign in with a different account, or ask for the permission.
    DifferentAccount,
    /// The user (or an administrator) must consent.
    AskForConsent,
    /// The user must sign in interactively (e.g. a second factor).
    InteractionRequired,
    /// The application's credentials are wrong: an administrator must update them.
    FixCredentials,
    /// The application or resource is not set up in the tenant.
    InstallApplication,
    /// Use another grant type.
    ChangeGrantType,
    /// Poll the token endpoint again after the device flow's `interval`
    /// (the device-code loop does; seen only if polling stopped early).
    PollAgain,
    /// A trust check refused the server's answer: nothing was sent.
    Refused,
}

impl Action {
    /// The command line's exit code: 2 fix the request; 3 retried and still
    /// failing; 4 needs a user or an administrator; 5 refused by a trust check.
    pub fn exit_code(&self) -> u8 {
        match self {
            Action::FixRequest | Action::ChangeGrantType => 2,
            Action::RetryLater | Action::RequestNewToken | Action::PollAgain => 3,
            Action::Reauthorize { .. }
            | Action::ReauthorizeWithClaims { .. }
            | Action::DifferentAccount
            | Action::AskForConsent
            | Action::InteractionRequired
            | Action::FixCredentials
            | Action::InstallApplication => 4,
            Action::Refused => 5,
        }
    }

    /// The action in plain words, for people.
    pub fn describe(&self) -> String {
        match self {
            Action::FixRequest => "Fix the request and send it again; this is a development error.".into(),
            Action::RetryLater => "The service is having a temporary problem; it was retried after random delays and still fails. Try again later.".into(),
            Action::RequestNewToken => "The API refused the access token even after a new one was requested. Try again later; if it persists, the API or the authority is misconfigured.".into(),
            Action::Reauthorize { scope: Some(scope) } => format!("Sign in again and consent to the scope '{scope}', then retry."),
            Action::Reauthorize { scope: None } => "Sign in again with the permissions the API needs, then retry.".into(),
            Action::ReauthorizeWithClaims { .. } => "Sign in again interactively with the claims the server named (for example, passing a second factor): use `latchkey login`, or `latchkey call --login`.".into(),
            Action::DifferentAccount => "This account lacks the permission: sign in with a different account, or ask for the permission on this resource.".into(),
            Action::AskForConsent => "The user (or an administrator) must consent to the application before it can proceed.".into(),
            Action::InteractionRequired => "The user must sign in interactively (for example to pass a second factor): use `latchkey login`.".into(),
            Action::FixCredentials => "The application's credentials are not valid: an administrator must update the client secret or certificate.".into(),
            Action::InstallApplication => "The application or the resource is not set up in this tenant: ask an administrator to add it.".into(),
            Action::ChangeGrantType => "Use a grant type the server supports for this application.".into(),
            Action::PollAgain => "The sign-in on the other device is not finished: poll again after the interval.".into(),
            Action::Refused => "Refused for safety: the server's answer failed a trust check, and no token was sent.".into(),
        }
    }

    fn from_seed(action: ClientAction, scope: Option<&str>, claims: Option<&str>) -> Action {
        match action {
            ClientAction::FixRequest => Action::FixRequest,
            ClientAction::RetryWithDelay => Action::RetryLater,
            ClientAction::RequestNewToken => Action::RequestNewToken,
            ClientAction::ReauthorizeWithScope => Action::Reauthorize {
                scope: scope.map(str::to_owned),
            },
            // A challenge whose claims cannot be read names nothing to
            // ask for: a person must look at it.
            ClientAction::ReauthorizeWithClaims => match claims {
                Some(claims) => Action::ReauthorizeWithClaims {
                    claims: claims.to_owned(),
                },
                None => Action::InteractionRequired,
            },
            ClientAction::PromptDifferentAccount => Action::DifferentAccount,
            ClientAction::AskForConsent => Action::AskForConsent,
            ClientAction::InteractionRequired => Action::InteractionRequired,
            ClientAction::FixCredentials => Action::FixCredentials,
            ClientAction::InstallApplication => Action::InstallApplication,
            ClientAction::ChangeGrantType => Action::ChangeGrantType,
            ClientAction::PollAgain => Action::PollAgain,
        }
    }
}

/// An error from the authorization endpoint's redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeError {
    pub error: ErrorCode,
    pub error_description: Option<String>,
    pub state: Option<String>,
}

/// An error document from the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub status: u16,
    pub document: TokenErrorResponse,
    pub retry_after: Option<Duration>,
}

/// A refusal from a secured resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceError {
    pub status: u16,
    /// The Bearer challenge, when the API sent one.
    pub challenge: Option<BearerChallenge>,
    pub retry_after: Option<Duration>,
}

impl ResourceError {
    /// The claims request (JSON) of a claims challenge, when its `claims`
    /// is base64 of a JSON object; anything else is not passed on.
    pub fn claims(&self) -> Option<String> {
        let encoded = self.challenge.as_ref()?.claims.as_deref()?;
        let json = ClaimsRequest::from_challenge(encoded)?;
        ClaimsRequest::parse(&json).ok()?;
        Some(json)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("the authorization server answered {}: {}", .0.error, .0.error_description.as_deref().unwrap_or("(no description)"))]
    Authorize(AuthorizeError),
    #[error("the token endpoint answered HTTP {} {}: {}", .0.status, .0.document.error, .0.document.error_description)]
    Token(Box<TokenError>),
    #[error("the API answered HTTP {}{}", .0.status, .0.challenge.as_ref().map(|c| format!(" {}: {}", c.error.as_ref().map(ErrorCode::as_str).unwrap_or("(no error)"), c.error_description.as_deref().unwrap_or(""))).unwrap_or_default())]
    Resource(Box<ResourceError>),
    #[error("cannot reach {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error(
        "{url} answered HTTP {status} with a body that is not the expected document ({content_type}): {excerpt}"
    )]
    UnexpectedResponse {
        url: String,
        status: u16,
        content_type: String,
        excerpt: String,
    },
    #[error("refused: the authorization_uri '{uri}' is not a trusted authority: {reason}")]
    UntrustedAuthority { uri: String, reason: String },
    #[error(
        "refused: the resource_id '{resource_id}' does not belong to {api}; sending it a token could be an elevation of privilege"
    )]
    ForeignResource { resource_id: String, api: String },
    #[error("refused: the state in the authorization response does not match the state sent")]
    StateMismatch,
    #[error(
        "{url} answered HTTP {status} without a Bearer challenge: cannot discover its authority"
    )]
    NoChallenge { url: String, status: u16 },
    #[error("gave up after {attempts} attempts; the last: {last}")]
    RetriesExhausted { attempts: u32, last: Box<Error> },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The seed's client action for this error.
    pub fn action(&self) -> Action {
        // A condition whose action is not its OAuth code's (AADSTS50105, a
        // user the app does not admit: `invalid_grant` from the token
        // endpoint, `access_denied` in a redirect) is known by its number.
        if let Some(action) = self.aadsts_numbers().find_map(Aadsts::action_for_number) {
            return Action::from_seed(action, None, None);
        }
        match self {
            Error::Authorize(e) => Action::from_seed(e.error.client_action(), None, None),
            Error::Token(e) => match e.document.error {
                ErrorCode::Extension(_) if e.status >= 500 => Action::RetryLater,
                // Azure AD's suberror names the interaction an invalid_grant needs.
                ErrorCode::InvalidGrant
                    if e.document.suberror.as_deref() == Some("consent_required") =>
                {
                    Action::AskForConsent
                }
                // Azure AD's `claims`: what to authorize again with.
                ErrorCode::InteractionRequired
                    if let Some(claims) = e.document.claims.as_deref()
                        && ClaimsRequest::parse(claims).is_ok() =>
                {
                    Action::ReauthorizeWithClaims {
                        claims: claims.to_owned(),
                    }
                }
                ref code => Action::from_seed(code.client_action(), None, None),
            },
            Error::Resource(e) => match e.challenge.as_ref().and_then(|c| c.error.clone()) {
                Some(code) => Action::from_seed(
                    code.client_action(),
                    e.challenge.as_ref().and_then(|c| c.scope.as_deref()),
                    e.claims().as_deref(),
                ),
                None if e.status >= 500 => Action::RetryLater,
                None => Action::FixRequest,
            },
            Error::Transport { .. } | Error::RetriesExhausted { .. } => Action::RetryLater,
            Error::UnexpectedResponse { status, .. } if *status >= 500 => Action::RetryLater,
            Error::UnexpectedResponse { .. } | Error::NoChallenge { .. } | Error::Usage(_) => {
                Action::FixRequest
            }
            Error::UntrustedAuthority { .. }
            | Error::ForeignResource { .. }
            | Error::StateMismatch => Action::Refused,
        }
    }

    /// The AADSTS numbers the server reported: a token error's
    /// `error_codes`, a redirect's `AADSTSnnnn:` description.
    fn aadsts_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        let (codes, described): (&[u32], Option<u32>) = match self {
            Error::Token(e) => (&e.document.error_codes, None),
            Error::Authorize(e) => (&[], e.error_description.as_deref().and_then(aadsts_number)),
            _ => (&[], None),
        };
        codes.iter().copied().chain(described)
    }

    /// Whether the retry policy may send the same request again: the seed's
    /// "retry" codes, HTTP 500/502/503/504 and connection failures, never
    /// `invalid_grant`, `invalid_client` or `invalid_request`.
    pub fn is_retryable(&self) -> bool {
        let transient_status = |s: u16| matches!(s, 500 | 502 | 503 | 504);
        match self {
            Error::Token(e) => match e.document.error {
                ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => true,
                ErrorCode::InvalidGrant | ErrorCode::InvalidClient | ErrorCode::InvalidRequest => {
                    false
                }
                _ => transient_status(e.status),
            },
            Error::Resource(e) => {
                e.challenge
                    .as_ref()
                    .and_then(|c| c.error.as_ref())
                    .is_none()
                    && transient_status(e.status)
            }
            Error::Transport { .. } => true,
            Error::UnexpectedResponse { status, .. } => transient_status(*status),
            _ => false,
        }
    }

    /// `Retry-After`, when the server sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Token(e) => e.retry_after,
            Error::Resource(e) => e.retry_after,
            _ => None,
        }
    }

    /// The correlation id the server reported, to quote to its operators.
    /// The token endpoint's `error`, when that is what answered.
    pub fn token_error_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Token(e) => Some(&e.document.error),
            Error::RetriesExhausted { last, .. } => last.token_error_code(),
            _ => None,
        }
    }

    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Error::Token(e) => Some(e.document.correlation_id.as_str()).filter(|c| !c.is_empty()),
            Error::RetriesExhausted { last, .. } => last.correlation_id(),
            _ => None,
        }
    }
}

/// The number of a description that starts `AADSTSnnnn:`, as Azure AD's
/// (and Latchkey's) do.
fn aadsts_number(description: &str) -> Option<u32> {
    let rest = description.strip_prefix("AADSTS")?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 || !rest[digits..].starts_with(':') {
        return None;
    }
    rest[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aadsts_number_of_a_description() {
        assert_eq!(
            aadsts_number("AADSTS50105: The signed in user"),
            Some(50105)
        );
        assert_eq!(aadsts_number("AADSTS50105:"), Some(50105));
        assert_eq!(aadsts_number("AADSTS: no number"), None);
        assert_eq!(aadsts_number("AADSTS50105 no colon"), None);
        assert_eq!(aadsts_number("AADSTS50105"), None);
        assert_eq!(aadsts_number("Error AADSTS50105: elsewhere"), None);
    }

    #[test]
    fn aadsts50105_is_a_different_account_whatever_its_code() {
        let redirect = |error: &str, description: &str| {
            Error::Authorize(AuthorizeError {
                error: error.parse().unwrap_or_else(|never| match never {}),
                error_description: Some(description.to_owned()),
                state: None,
            })
        };
        let not_assigned = "AADSTS50105: The signed in user is not assigned to a role for the application 'c'(HR).\r\nTrace ID: t";
        for code in ["access_denied", "invalid_request", "interaction_required"] {
            assert_eq!(
                redirect(code, not_assigned).action(),
                Action::DifferentAccount,
                "{code}"
            );
        }
        assert_eq!(
            redirect(
                "access_denied",
                "AADSTS65004: User declined to consent to access the app."
            )
            .action(),
            Action::AskForConsent
        );
        let token = |error: &str, codes: Vec<u32>| {
            let document = serde_json::json!({ "error": error, "error_codes": codes });
            Error::Token(Box::new(TokenError {
                status: 403,
                document: serde_json::from_value(document).unwrap(),
                retry_after: None,
            }))
        };
        assert_eq!(
            token("invalid_grant", vec![50105]).action(),
            Action::DifferentAccount
        );
        assert_eq!(
            token("unauthorized_client", vec![50105]).action(),
            Action::DifferentAccount
        );
        assert_eq!(
            token("invalid_grant", vec![70000]).action(),
            Action::FixRequest
        );
    }
}
