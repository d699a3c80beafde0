//! An OAuth 2.0 client for Latchkey and Azure AD v1 authorities: acquires
//! tokens, calls secured APIs, turns every error of the three surfaces into
//! one typed [`Error`] whose [`Error::action`] is the seed's client action,
//! and carries the action out where it can (retries with jittered backoff,
//! one new token on `invalid_token`). It refuses an untrusted
//! `authorization_uri` and a `resource_id` that does not belong to the API
//! being called.
//!
//! Architecture invariant: this crate knows the server only through HTTP.

mod certificate;
mod client;
mod device_code;
mod error;
mod login;
pub mod parse;
mod retry;
mod trust;

pub use certificate::ClientCertificate;
pub use client::{ApiResponse, Client, ClientConfig, Credentials};
pub use error::{Action, AuthorizeError, Error, ResourceError, TokenError};
pub use login::pkce_pair;
pub use retry::RetryPolicy;
pub use trust::{TrustedHost, check_authorization_uri, check_resource_id};

#[cfg(test)]
mod properties {
    use latchkey_protocol::{BearerChallenge, ErrorCode, parse_challenges};
    use proptest::prelude::*;

    fn code() -> impl Strategy<Value = ErrorCode> {
        prop::sample::select(ErrorCode::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn a_written_challenge_parses_back(
            uri in proptest::option::of("[ -~]{0,40}"),
            error in proptest::option::of(code()),
            description in proptest::option::of("[ -~]{0,80}"),
            scope in proptest::option::of("[ -~]{0,30}"),
            claims in proptest::option::of("[A-Za-z0-9+/=]{0,60}"),
            resource in proptest::option::of("[ -~]{0,40}"),
        ) {
            let challenge = BearerChallenge {
                realm: None,
                authorization_uri: uri,
                error,
                error_description: description,
                claims,
                scope,
                resource_id: resource,
            };
            let parsed: BearerChallenge = challenge.to_string().parse().unwrap();
            prop_assert_eq!(parsed, challenge);
        }

        #[test]
        fn arbitrary_headers_never_panic(text in "\\PC{0,200}") {
            let _ = parse_challenges(&text);
            let _ = text.parse::<BearerChallenge>();
            let _ = crate::parse::response_params(&text);
        }

        #[test]
        fn arbitrary_token_endpoint_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), status in 400u16..600) {
            let error = crate::parse::token_error("u", status, &reqwest::header::HeaderMap::new(), &body);
            let _ = (error.action(), error.is_retryable(), error.to_string());
        }
    }
}
