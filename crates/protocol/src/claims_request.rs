//! The `claims` request (OpenID Connect Core §5.5) as Azure AD uses it for
//! step-up: the claims a token must carry. A token endpoint's
//! `interaction_required` and a secured resource's `insufficient_claims`
//! challenge hand one to the client; the client passes it back, unchanged,
//! as the authorization request's `claims` parameter.
//!
//! Latchkey reads one thing in a claims request: whether it asks for
//! multi-factor authentication. It does when
//! - `access_token` or `id_token` asks for `amr` with the value `mfa`
//!   ([`ClaimsRequest::AMR_MFA`], what the resource middleware sends), or
//! - `access_token` names in `capolids` a policy that requires MFA
//!   ([`ClaimsRequest::mfa_policy`], what the token endpoint sends, naming
//!   the policy the way Azure AD names its conditional-access policies).
//!
//! Anything else in it (MSAL's client capabilities `xms_cc`, claims
//! Latchkey does not issue) is ignored, as OpenID Connect lets a server
//! ignore what it cannot provide.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// A claims request, parsed: a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsRequest {
    members: Map<String, Value>,
}

/// A `claims` value that is not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the claims request is not a JSON object")]
pub struct MalformedClaims;

/// Base64 readers that take a value padded or not.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

impl ClaimsRequest {
    /// What a secured resource asks for when a route needs a second factor:
    /// an access token whose `amr` has `mfa`.
    pub const AMR_MFA: &'static str =
        r#"{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}"#;

    /// Reads a `claims` parameter.
    pub fn parse(text: &str) -> Result<ClaimsRequest, MalformedClaims> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(members)) => Ok(ClaimsRequest { members }),
            _ => Err(MalformedClaims),
        }
    }

    /// What a token endpoint answers a token request with when the policy
    /// `policy_id` (a GUID) requires a second factor the sign-in lacks, as
    /// Azure AD does for a conditional-access policy:
    /// `{"access_token":{"capolids":{"essential":true,"values":["…"]}}}`.
    pub fn mfa_policy(policy_id: &str) -> String {
        serde_json::json!({
            "access_token": {"capolids": {"essential": true, "values": [policy_id]}}
        })
        .to_string()
    }

    /// Whether the request asks for multi-factor authentication (see the
    /// module's documentation); `is_mfa_policy` says whether a `capolids`
    /// value names a policy that requires it.
    pub fn asks_for_mfa(&self, is_mfa_policy: impl Fn(&str) -> bool) -> bool {
        let amr = |token: &str| self.requested_values(token, "amr").any(|v| v == "mfa");
        amr("access_token")
            || amr("id_token")
            || self
                .requested_values("access_token", "capolids")
                .any(is_mfa_policy)
    }

    /// The values `token` (`access_token`, `id_token`) asks `claim` to have:
    /// its `value` and each of its `values`.
    fn requested_values<'a>(
        &'a self,
        token: &str,
        claim: &str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let request = self
            .members
            .get(token)
            .and_then(|t| t.get(claim))
            .and_then(Value::as_object);
        let value = request.and_then(|r| r.get("value")).and_then(Value::as_str);
        let values = request
            .and_then(|r| r.get("values"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        value.into_iter().chain(values)
    }

    /// The `claims` parameter of a `WWW-Authenticate` challenge: the claims
    /// request's JSON in base64, padded, as Microsoft's protected APIs
    /// send it.
    pub fn to_challenge(json: &str) -> String {
        STANDARD.encode(json)
    }

    /// The claims request's JSON from a challenge's `claims` parameter
    /// (base64, padded or not; the URL-safe alphabet is read too). `None`
    /// when it is not base64 of UTF-8.
    pub fn from_challenge(value: &str) -> Option<String> {
        let bytes = STANDARD_LENIENT
            .decode(value)
            .or_else(|_| URL_SAFE_LENIENT.decode(value))
            .or_else(|_| URL_SAFE.decode(value))
            .ok()?;
        String::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "0f3d3c5e-6b8a-5c2f-9a47-1e2d3c4b5a69";

    fn asks(text: &str) -> bool {
        ClaimsRequest::parse(text)
            .unwrap()
            .asks_for_mfa(|id| id == POLICY)
    }

    #[test]
    fn what_the_two_sides_send_asks_for_mfa() {
        assert!(asks(ClaimsRequest::AMR_MFA));
        let policy = ClaimsRequest::mfa_policy(POLICY);
        assert_eq!(
            policy,
            r#"{"access_token":{"capolids":{"essential":true,"values":["0f3d3c5e-6b8a-5c2f-9a47-1e2d3c4b5a69"]}}}"#
        );
        assert!(asks(&policy));
    }

    #[test]
    fn what_else_a_claims_request_says_is_ignored() {
        // MSAL merges its client capabilities into the challenge.
        assert!(asks(
            r#"{"access_token":{"xms_cc":{"values":["cp1"]},"capolids":{"essential":true,"values":["0f3d3c5e-6b8a-5c2f-9a47-1e2d3c4b5a69"]}}}"#
        ));
        assert!(asks(r#"{"id_token":{"amr":{"value":"mfa"}}}"#));
        assert!(!asks(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#));
        assert!(!asks(
            r#"{"access_token":{"capolids":{"values":["another"]}}}"#
        ));
        assert!(!asks(r#"{"access_token":{"amr":null}}"#));
        assert!(!asks(r#"{"userinfo":{"amr":{"values":["mfa"]}}}"#));
        assert!(!asks("{}"));
    }

    #[test]
    fn only_a_json_object_is_a_claims_request() {
        for text in ["", "mfa", "[]", "\"{}\"", "{", "null"] {
            assert_eq!(ClaimsRequest::parse(text), Err(MalformedClaims), "{text}");
        }
    }

    #[test]
    fn challenge_values_are_padded_base64_and_read_either_way() {
        let encoded = ClaimsRequest::to_challenge(ClaimsRequest::AMR_MFA);
        assert_eq!(
            encoded,
            "eyJhY2Nlc3NfdG9rZW4iOnsiYW1yIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWVzIjpbIm1mYSJdfX19"
        );
        assert_eq!(
            ClaimsRequest::from_challenge(&encoded).as_deref(),
            Some(ClaimsRequest::AMR_MFA)
        );
        // Microsoft's documented example, padded.
        assert_eq!(
            ClaimsRequest::from_challenge(
                "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="
            )
            .as_deref(),
            Some(r#"{"access_token":{"acrs":{"essential":true,"value":"cp1"}}}"#)
        );
        // Unpadded, and URL-safe.
        assert_eq!(
            ClaimsRequest::from_challenge("eyJhIjoiPz8_In0").as_deref(),
            Some(r#"{"a":"???"}"#)
        );
        assert_eq!(ClaimsRequest::from_challenge("not base64!"), None);
    }
}
