//! Why a secured resource refused a request: each condition with its
//! RFC 6750 code and the description its challenge carries
//! (docs/spec/seed-000-resource-errors.txt).

use crate::{ClaimsRequest, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BearerError {
    /// No token at all (also `Authorization: Bearer` with nothing after it).
    MissingToken,
    /// An `Authorization` header that is not `Bearer <token68>`.
    MalformedAuthorizationHeader,
    /// Two `Authorization` headers, or `access_token` twice in the query.
    MultipleTokens,
    /// A token in the header and another in the query (RFC 6750 §2).
    TokenInHeaderAndQuery,
    /// Not three base64url parts of JSON, or JSON with a duplicate member.
    MalformedToken,
    TokenTooLarge,
    /// `alg` other than RS256 (`none`, `HS256`…).
    AlgorithmNotAllowed,
    /// A `crit` header parameter: no extension is understood here.
    CriticalHeader,
    /// No published key has the token's `kid`, even after a refetch.
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    NoExpiry,
    WrongIssuer,
    WrongAudience,
    /// The token lacks a delegated scope the route needs: `scope` names it.
    InsufficientScope {
        scope: String,
    },
    /// The subject lacks a role or permission the route needs.
    InsufficientAccess,
    /// The route needs a second factor and the token's `amr` has no `mfa`:
    /// Azure AD's claims challenge, whose `claims` asks for it.
    MfaRequired,
}

impl BearerError {
    pub fn code(&self) -> ErrorCode {
        match self {
            BearerError::MalformedAuthorizationHeader
            | BearerError::MultipleTokens
            | BearerError::TokenInHeaderAndQuery => ErrorCode::InvalidRequest,
            BearerError::InsufficientScope { .. } => ErrorCode::InsufficientScope,
            BearerError::InsufficientAccess => ErrorCode::InsufficientAccess,
            BearerError::MfaRequired => ErrorCode::InsufficientClaims,
            _ => ErrorCode::InvalidToken,
        }
    }

    pub fn status(&self) -> u16 {
        self.code().resource_status()
    }

    pub fn description(&self) -> &'static str {
        match self {
            BearerError::MissingToken => "The access token is missing.",
            BearerError::MalformedAuthorizationHeader => {
                "The Authorization header is malformed; it must be 'Bearer' followed by the access token."
            }
            BearerError::MultipleTokens => "The request carries more than one access token.",
            BearerError::TokenInHeaderAndQuery => {
                "The access token was sent both in the Authorization header and in the query string."
            }
            BearerError::MalformedToken => "The access token is malformed.",
            BearerError::TokenTooLarge => "The access token is too large.",
            BearerError::AlgorithmNotAllowed => {
                "The access token is signed with an algorithm that is not allowed."
            }
            BearerError::CriticalHeader => {
                "The access token has a critical header parameter that is not understood."
            }
            BearerError::UnknownKey => "The access token is signed with an unknown key.",
            BearerError::BadSignature => "The access token signature is invalid.",
            BearerError::Expired => "The access token is expired.",
            BearerError::NotYetValid => "The access token is not yet valid.",
            BearerError::NoExpiry => "The access token has no expiry.",
            BearerError::WrongIssuer => "The access token was issued by an untrusted issuer.",
            BearerError::WrongAudience => "The access token is not intended for this resource.",
            BearerError::InsufficientScope { .. } => {
                "The access token does not contain the impersonation permissions required to access the resource."
            }
            BearerError::InsufficientAccess => {
                "The subject of the token does not have the permissions that are required to access the resource."
            }
            BearerError::MfaRequired => {
                "The access token does not show multi-factor authentication, which the resource requires: authorize again with the claims of this challenge."
            }
        }
    }

    /// The `scope` parameter of the challenge, for `insufficient_scope`.
    pub fn scope(&self) -> Option<&str> {
        match self {
            BearerError::InsufficientScope { scope } => Some(scope),
            _ => None,
        }
    }

    /// The claims request of the challenge (its JSON, before base64), for
    /// `insufficient_claims`.
    pub fn claims(&self) -> Option<&'static str> {
        match self {
            BearerError::MfaRequired => Some(ClaimsRequest::AMR_MFA),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_seed_000() {
        assert_eq!(BearerError::MissingToken.status(), 401);
        assert_eq!(BearerError::Expired.status(), 401);
        assert_eq!(BearerError::TokenInHeaderAndQuery.status(), 400);
        assert_eq!(
            BearerError::InsufficientScope { scope: "s".into() }.status(),
            403
        );
        assert_eq!(BearerError::InsufficientAccess.status(), 403);
        // As Microsoft's protected APIs answer a claims challenge.
        assert_eq!(BearerError::MfaRequired.status(), 401);
    }
}
