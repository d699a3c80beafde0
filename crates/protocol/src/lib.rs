//! Latchkey's wire types and error model, shared by the server, the resource
//! middleware and the client.
//!
//! Architecture invariant: this crate does no I/O, reads no clock and draws
//! no random numbers; everything that varies per request is passed in, so
//! every rendering here is byte-stable under test.

mod aadsts;
mod bearer_error;
mod challenge;
mod claims_request;
mod device_code;
mod error_code;
mod instance_discovery;
mod jwk;
mod jws;
mod managed_identity;
mod redirect;
mod token;
mod token_error;
mod uri;

pub use aadsts::{Aadsts, ConditionSpec, NumberOrigin, bounded};
pub use bearer_error::BearerError;
pub use challenge::{
    BearerChallenge, BearerParseError, Challenge, ChallengeParseError, parse_challenges, quote,
};
pub use claims_request::{ClaimsRequest, MalformedClaims};
pub use device_code::{
    DeviceAuthorization, DeviceAuthorizationResponseV1, DeviceAuthorizationResponseV2,
};
pub use error_code::{ClientAction, CodeSpec, ErrorCode, Surface};
pub use instance_discovery::{InstanceDiscovery, InstanceMetadata};
pub use jwk::PublicJwk;
pub use jws::Jws;
pub use managed_identity::{AppServiceError, AppServiceToken, ImdsError, ImdsToken};
pub use redirect::{ResponseMode, azure_form_encode, error_params, redirect_location};
pub use token::{AccessTokenClaims, GrantType, TokenResponseV1, TokenResponseV2, Version};
pub use token_error::{ErrorContext, Profile, TokenErrorResponse, describe, format_timestamp};
pub use uri::{is_absolute_uri, same_resource};
