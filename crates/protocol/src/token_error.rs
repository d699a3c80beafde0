//! The token endpoint's error document (docs/spec/seed-001-error-handling.md,
//! "JSON Document Objects in the Error response") and the AADSTS
//! description in both profiles.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use crate::{Aadsts, ErrorCode};

/// How error descriptions are written. Chosen per server, or per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The seeds byte for byte: a multi-line AADSTS description.
    #[default]
    Azure,
    /// One line of only the characters RFC 6749 §5.2 allows.
    Strict,
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "azure" => Ok(Profile::Azure),
            "strict" => Ok(Profile::Strict),
            other => Err(format!(
                "unknown profile '{other}': expected 'azure' or 'strict'"
            )),
        }
    }
}

/// The ids and the time that every error response carries. The server makes
/// one per request; tests build fixed ones so output is byte-stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorContext {
    pub trace_id: Uuid,
    pub correlation_id: Uuid,
    pub timestamp: OffsetDateTime,
}

/// Formats a time as the seeds do: `2013-12-31 06:31:41Z`.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

/// Writes the `error_description` for `condition`.
///
/// Azure: `AADSTSnnnn: message\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …`.
/// Strict: the same parts joined by single spaces, with any character
/// RFC 6749 §5.2 forbids (`"`, `\`, controls, non-ASCII) replaced.
pub fn describe(condition: &Aadsts, ctx: &ErrorContext, profile: Profile) -> String {
    let timestamp = format_timestamp(ctx.timestamp);
    let separator = match profile {
        Profile::Azure => "\r\n",
        Profile::Strict => " ",
    };
    let text = format!(
        "AADSTS{}: {}{sep}Trace ID: {}{sep}Correlation ID: {}{sep}Timestamp: {}",
        condition.number(),
        condition.message(),
        ctx.trace_id,
        ctx.correlation_id,
        timestamp,
        sep = separator,
    );
    match profile {
        Profile::Azure => text,
        Profile::Strict => text.chars().map(strict_char).collect(),
    }
}

/// RFC 6749 §5.2: `error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )`.
fn strict_char(c: char) -> char {
    match c {
        '"' => '\'',
        '\\' => '/',
        ' '..='~' => c,
        _ => '?',
    }
}

/// The JSON document of a token endpoint error: the seed's six fields, in
/// the seed's order, plus Azure AD's `suberror` and `claims` when present.
///
/// Reading is tolerant: any field but `error` may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenErrorResponse {
    pub error: ErrorCode,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub error_codes: Vec<u32>,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub trace_id: String,
    #[serde(default)]
    pub correlation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suberror: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
}

impl TokenErrorResponse {
    /// The document for `condition`.
    pub fn new(condition: &Aadsts, ctx: &ErrorContext, profile: Profile) -> Self {
        TokenErrorResponse {
            error: condition.error_code(),
            error_description: describe(condition, ctx, profile),
            error_codes: vec![condition.number()],
            timestamp: format_timestamp(ctx.timestamp),
            trace_id: ctx.trace_id.to_string(),
            correlation_id: ctx.correlation_id.to_string(),
            suberror: condition.suberror().map(str::to_owned),
            claims: None,
        }
    }

    /// The exact bytes sent on the wire.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and a known enum cannot fail to serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use time::macros::datetime;
    use uuid::uuid;

    fn seed_context() -> ErrorContext {
        ErrorContext {
            trace_id: uuid!("4457d068-2a03-42b2-97f2-d55325289d86"),
            correlation_id: uuid!("6b3474d8-233e-463f-b0a3-86433d8ba889"),
            timestamp: datetime!(2013-12-31 06:31:41 UTC),
        }
    }

    #[test]
    fn seed_example_token_error_is_reproduced_byte_for_byte() {
        let condition = Aadsts::AmbiguousClientId {
            client_ids: vec![
                "197451ec-ade4-40e4-b403-02105abd9049".into(),
                "597451ec-ade4-40e4-b403-02105abd9049".into(),
            ],
        };
        let doc = TokenErrorResponse::new(&condition, &seed_context(), Profile::Azure);
        // Verbatim from docs/spec/seed-001-error-handling.md, "Token Issuance Endpoint errors".
        let seed = r#"{"error":"invalid_request","error_description":"AADSTS90011: Request is ambiguous, multiple application identifiers found. Application identifiers: '197451ec-ade4-40e4-b403-02105abd9049, 597451ec-ade4-40e4-b403-02105abd9049'.\r\nTrace ID: 4457d068-2a03-42b2-97f2-d55325289d86\r\nCorrelation ID: 6b3474d8-233e-463f-b0a3-86433d8ba889\r\nTimestamp: 2013-12-31 06:31:41Z","error_codes":[90011],"timestamp":"2013-12-31 06:31:41Z","trace_id":"4457d068-2a03-42b2-97f2-d55325289d86","correlation_id":"6b3474d8-233e-463f-b0a3-86433d8ba889"}"#;
        assert_eq!(doc.to_json(), seed);
        let parsed: TokenErrorResponse = serde_json::from_str(seed).unwrap();
        assert_eq!(parsed, doc);
    }

    #[test]
    fn seed_example_authorize_description() {
        let ctx = ErrorContext {
            trace_id: uuid!("57f5cb47-2278-4802-a018-d05d9145daad"),
            correlation_id: uuid!("570a9ed3-bf1d-40d1-81ae-63465cc25488"),
            timestamp: datetime!(2013-12-31 05:51:35 UTC),
        };
        let text = describe(
            &Aadsts::MissingParameter {
                name: "response_type",
            },
            &ctx,
            Profile::Azure,
        );
        assert_eq!(
            text,
            "AADSTS90014: The request body must contain the following parameter: 'response_type'.\r\nTrace ID: 57f5cb47-2278-4802-a018-d05d9145daad\r\nCorrelation ID: 570a9ed3-bf1d-40d1-81ae-63465cc25488\r\nTimestamp: 2013-12-31 05:51:35Z"
        );
    }

    #[test]
    fn strict_profile_is_one_line_of_rfc6749_characters() {
        let condition = Aadsts::InvalidScope {
            scope: "a\"b\\c\r\nd é".into(),
        };
        let doc = TokenErrorResponse::new(&condition, &seed_context(), Profile::Strict);
        expect![[r#"{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope a'b/c??d ? is not valid. Trace ID: 4457d068-2a03-42b2-97f2-d55325289d86 Correlation ID: 6b3474d8-233e-463f-b0a3-86433d8ba889 Timestamp: 2013-12-31 06:31:41Z","error_codes":[70011],"timestamp":"2013-12-31 06:31:41Z","trace_id":"4457d068-2a03-42b2-97f2-d55325289d86","correlation_id":"6b3474d8-233e-463f-b0a3-86433d8ba889"}"#]]
        .assert_eq(&doc.to_json());
        assert!(
            doc.error_description
                .bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        );
    }

    #[test]
    fn consent_required_carries_the_suberror() {
        let condition = Aadsts::ConsentRequired {
            client_id: "2d4d11a2-f814-46a7-890a-274a72a7309e".into(),
            app_name: "Contoso Web".into(),
        };
        let doc = TokenErrorResponse::new(&condition, &seed_context(), Profile::Azure);
        expect![[r#"{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented to use the application with ID '2d4d11a2-f814-46a7-890a-274a72a7309e' named 'Contoso Web'. Send an interactive authorization request for this user and resource.\r\nTrace ID: 4457d068-2a03-42b2-97f2-d55325289d86\r\nCorrelation ID: 6b3474d8-233e-463f-b0a3-86433d8ba889\r\nTimestamp: 2013-12-31 06:31:41Z","error_codes":[65001],"timestamp":"2013-12-31 06:31:41Z","trace_id":"4457d068-2a03-42b2-97f2-d55325289d86","correlation_id":"6b3474d8-233e-463f-b0a3-86433d8ba889","suberror":"consent_required"}"#]]
        .assert_eq(&doc.to_json());
    }

    #[test]
    fn interaction_required_carries_the_claims_after_the_seed_fields() {
        let condition = Aadsts::MfaRequired {
            resource: "https://payroll.contoso.example/".into(),
        };
        let mut doc = TokenErrorResponse::new(&condition, &seed_context(), Profile::Azure);
        doc.claims = Some(crate::ClaimsRequest::mfa_policy(
            "0f3d3c5e-6b8a-5c2f-9a47-1e2d3c4b5a69",
        ));
        expect![[r#"{"error":"interaction_required","error_description":"AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access 'https://payroll.contoso.example/'.\r\nTrace ID: 4457d068-2a03-42b2-97f2-d55325289d86\r\nCorrelation ID: 6b3474d8-233e-463f-b0a3-86433d8ba889\r\nTimestamp: 2013-12-31 06:31:41Z","error_codes":[50076],"timestamp":"2013-12-31 06:31:41Z","trace_id":"4457d068-2a03-42b2-97f2-d55325289d86","correlation_id":"6b3474d8-233e-463f-b0a3-86433d8ba889","claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"0f3d3c5e-6b8a-5c2f-9a47-1e2d3c4b5a69\"]}}}"}"#]]
        .assert_eq(&doc.to_json());
        // As MSAL reads it: the claims request, a string of JSON.
        let parsed: TokenErrorResponse = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(parsed.claims, doc.claims);
    }

    #[test]
    fn reading_tolerates_missing_fields() {
        let doc: TokenErrorResponse = serde_json::from_str(r#"{"error":"code_expired"}"#).unwrap();
        assert_eq!(doc.error, ErrorCode::Extension("code_expired".into()));
        assert!(doc.error_codes.is_empty());
    }
}
