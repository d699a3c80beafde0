//! Authorization responses delivered by redirect (RFC 6749 §4.1.2,
//! OAuth 2.0 Form Post Response Mode): the parameters and their encoding.

use crate::{Aadsts, ErrorContext, Profile, describe};

/// How the authorization response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect URI's query (the default for `code`).
    Query,
    /// In the redirect URI's fragment.
    Fragment,
    /// As an auto-submitting HTML form POSTed to the redirect URI.
    FormPost,
}

impl ResponseMode {
    pub fn parse(value: &str) -> Option<ResponseMode> {
        match value {
            "query" => Some(ResponseMode::Query),
            "fragment" => Some(ResponseMode::Fragment),
            "form_post" => Some(ResponseMode::FormPost),
            _ => None,
        }
    }
}

/// Percent-encodes as Azure AD's redirects do (.NET's `UrlEncode`): space
/// as `+`, lower-case hex, and only `A–Z a–z 0–9 - _ . ! * ( )` left as is.
/// The seed's sample `Location` is written this way.
pub fn azure_form_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
    out
}

/// `error`, `error_description` and `state` (when the request had one),
/// in that order, for an error redirect.
pub fn error_params(
    condition: &Aadsts,
    ctx: &ErrorContext,
    profile: Profile,
    state: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("error", condition.error_code().as_str().to_owned()),
        ("error_description", describe(condition, ctx, profile)),
    ];
    if let Some(state) = state {
        params.push(("state", state.to_owned()));
    }
    params
}

/// The redirect URI with `params` in its query (after any query it has)
/// or its fragment.
pub fn redirect_location(redirect_uri: &str, fragment: bool, params: &[(&str, String)]) -> String {
    let encoded: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", azure_form_encode(v)))
        .collect();
    let joined = encoded.join("&");
    if fragment {
        format!("{redirect_uri}#{joined}")
    } else if redirect_uri.contains('?') {
        let separator = if redirect_uri.ends_with('?') || redirect_uri.ends_with('&') {
            ""
        } else {
            "&"
        };
        format!("{redirect_uri}{separator}{joined}")
    } else {
        format!("{redirect_uri}?{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::uuid;

    #[test]
    fn the_seeds_missing_response_type_redirect_byte_for_byte() {
        let ctx = ErrorContext {
            trace_id: uuid!("57f5cb47-2278-4802-a018-d05d9145daad"),
            correlation_id: uuid!("570a9ed3-bf1d-40d1-81ae-63465cc25488"),
            timestamp: datetime!(2013-12-31 05:51:35 UTC),
        };
        let params = error_params(
            &Aadsts::MissingParameter {
                name: "response_type",
            },
            &ctx,
            Profile::Azure,
            Some("D79E5777-702E-4260-9A62-37F75FF22CCE"),
        );
        let location = redirect_location("http://localhost/myapp/", false, &params);
        // Verbatim from docs/spec/seed-001-error-handling.md, "Authorization Endpoint errors".
        assert_eq!(
            location,
            "http://localhost/myapp/?error=invalid_request&error_description=AADSTS90014%3a+The+request+body+must+contain+the+following+parameter%3a+%27response_type%27.%0d%0aTrace+ID%3a+57f5cb47-2278-4802-a018-d05d9145daad%0d%0aCorrelation+ID%3a+570a9ed3-bf1d-40d1-81ae-63465cc25488%0d%0aTimestamp%3a+2013-12-31+05%3a51%3a35Z&state=D79E5777-702E-4260-9A62-37F75FF22CCE"
        );
    }

    #[test]
    fn existing_queries_and_fragments() {
        let params = [("code", "a b".to_owned())];
        assert_eq!(
            redirect_location("https://app/cb?x=1", false, &params),
            "https://app/cb?x=1&code=a+b"
        );
        assert_eq!(
            redirect_location("https://app/cb", true, &params),
            "https://app/cb#code=a+b"
        );
        assert_eq!(azure_form_encode("ä&=#+/"), "%c3%a4%26%3d%23%2b%2f");
    }
}
