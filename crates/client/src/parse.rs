//! Reading what servers send: token error documents (tolerant of missing
//! fields, and of bodies that are not JSON at all), authorization
//! responses (query, fragment or form post), RFC 6750 challenges spread
//! over any number of `WWW-Authenticate` headers, and `Retry-After`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use latchkey_protocol::{BearerChallenge, Challenge, TokenErrorResponse, parse_challenges};
use reqwest::header::{HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};

use crate::error::{AuthorizeError, Error, TokenError};

/// The error a token endpoint's non-2xx answer carries.
pub fn token_error(url: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<TokenErrorResponse>(body) {
        Ok(document) => Error::Token(Box::new(TokenError {
            status,
            document,
            retry_after: retry_after(headers, SystemTime::now()),
        })),
        Err(_) => unexpected(url, status, headers, body),
    }
}

/// A body that is not the document expected (an HTML 502 from a proxy…).
pub fn unexpected(url: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type")
        .to_owned();
    let text = String::from_utf8_lossy(body);
    let excerpt: String = text.chars().filter(|c| !c.is_control()).take(120).collect();
    Error::UnexpectedResponse {
        url: url.to_owned(),
        status,
        content_type,
        excerpt,
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Every challenge of every `WWW-Authenticate` header; malformed ones are skipped.
pub fn challenges(headers: &HeaderMap) -> Vec<Challenge> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| parse_challenges(v).ok())
        .flatten()
        .collect()
}

/// The Bearer challenge among the response's challenges.
pub fn bearer_challenge(headers: &HeaderMap) -> Option<BearerChallenge> {
    BearerChallenge::from_challenges(&challenges(headers))
}

/// The parameters of an authorization response: the query or fragment of
/// the redirect URL, or a `form_post` body.
pub fn response_params(redirect_or_body: &str) -> HashMap<String, String> {
    let encoded = match redirect_or_body.split_once(['?', '#']) {
        Some((_, rest)) => rest,
        None => redirect_or_body,
    };
    // A query and a fragment: the fragment wins only if the query has nothing.
    let encoded = encoded
        .split('#')
        .find(|part| part.contains('='))
        .unwrap_or(encoded);
    form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

/// The code of an authorization response, after checking `state`.
pub fn authorization_code(
    params: &HashMap<String, String>,
    sent_state: &str,
) -> Result<String, Error> {
    if params.get("state").map(String::as_str) != Some(sent_state) {
        return Err(Error::StateMismatch);
    }
    if let Some(error) = params.get("error") {
        return Err(Error::Authorize(AuthorizeError {
            error: error.parse().unwrap_or_else(|never| match never {}),
            error_description: params.get("error_description").cloned(),
            state: params.get("state").cloned(),
        }));
    }
    params.get("code").cloned().ok_or_else(|| {
        Error::Usage("the authorization response has neither a code nor an error".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_protocol::ErrorCode;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_seeds_token_error_document() {
        let seed = br#"{"error":"invalid_request","error_description":"AADSTS90011: Request is ambiguous, multiple application identifiers found. Application identifiers: '197451ec-ade4-40e4-b403-02105abd9049, 597451ec-ade4-40e4-b403-02105abd9049'.\r\nTrace ID: 4457d068-2a03-42b2-97f2-d55325289d86\r\nCorrelation ID: 6b3474d8-233e-463f-b0a3-86433d8ba889\r\nTimestamp: 2013-12-31 06:31:41Z","error_codes":[90011],"timestamp":"2013-12-31 06:31:41Z","trace_id":"4457d068-2a03-42b2-97f2-d55325289d86","correlation_id":"6b3474d8-233e-463f-b0a3-86433d8ba889"}"#;
        let Error::Token(error) = token_error("u", 400, &HeaderMap::new(), seed) else {
            panic!()
        };
        assert_eq!(error.document.error, ErrorCode::InvalidRequest);
        assert_eq!(error.document.error_codes, [90011]);
        assert_eq!(
            error.document.correlation_id,
            "6b3474d8-233e-463f-b0a3-86433d8ba889"
        );
        assert_eq!(Error::Token(error).action(), crate::Action::FixRequest);
    }

    #[test]
    fn suberror_and_claims_are_kept_and_missing_fields_tolerated() {
        let body = br#"{"error":"invalid_grant","suberror":"consent_required","claims":"{\"access_token\":{}}"}"#;
        let Error::Token(error) = token_error("u", 400, &HeaderMap::new(), body) else {
            panic!()
        };
        assert_eq!(error.document.suberror.as_deref(), Some("consent_required"));
        assert!(error.document.claims.is_some());
        assert!(error.document.trace_id.is_empty());
    }

    #[test]
    fn an_html_502_is_a_transport_level_error_not_a_panic() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/html"));
        let error = token_error(
            "https://login/t/oauth2/token",
            502,
            &headers,
            b"<html><body>502 Bad Gateway</body></html>",
        );
        assert!(
            matches!(error, Error::UnexpectedResponse { status: 502, .. }),
            "{error:?}"
        );
        assert!(error.is_retryable());
        assert_eq!(error.action(), crate::Action::RetryLater);
        assert!(error.to_string().contains("text/html"));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            retry_after(&headers, SystemTime::now()),
            Some(Duration::from_secs(7))
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:30 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn challenges_across_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="x""#),
        );
        // docs/spec/seed-001-error-handling.md, verbatim.
        headers.append(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer authorization_uri="https://login.window.net/contoso.com/oauth2/authorize",  error="invalid_token",  error_description="The access token is missing.","#));
        assert_eq!(challenges(&headers).len(), 2);
        let bearer = bearer_challenge(&headers).unwrap();
        assert_eq!(bearer.error, Some(ErrorCode::InvalidToken));
        assert_eq!(
            bearer.error_description.as_deref(),
            Some("The access token is missing.")
        );
    }

    #[test]
    fn the_seeds_authorization_redirect() {
        let location = "http://localhost/myapp/?error=invalid_request&error_description=AADSTS90014%3a+The+request+body+must+contain+the+following+parameter%3a+%27response_type%27.%0d%0aTrace+ID%3a+57f5cb47-2278-4802-a018-d05d9145daad%0d%0aCorrelation+ID%3a+570a9ed3-bf1d-40d1-81ae-63465cc25488%0d%0aTimestamp%3a+2013-12-31+05%3a51%3a35Z&state=D79E5777-702E-4260-9A62-37F75FF22CCE";
        let params = response_params(location);
        let Err(Error::Authorize(error)) =
            authorization_code(&params, "D79E5777-702E-4260-9A62-37F75FF22CCE")
        else {
            panic!()
        };
        assert_eq!(error.error, ErrorCode::InvalidRequest);
        assert!(error.error_description.unwrap().starts_with("AADSTS90014: The request body must contain the following parameter: 'response_type'.\r\nTrace ID: 57f5cb47"));
        assert!(matches!(
            authorization_code(&params, "another state"),
            Err(Error::StateMismatch)
        ));
    }

    #[test]
    fn codes_in_query_fragment_or_form_body() {
        for text in [
            "https://app/cb?code=abc&state=s",
            "https://app/cb#code=abc&state=s",
            "code=abc&state=s",
        ] {
            assert_eq!(
                authorization_code(&response_params(text), "s").unwrap(),
                "abc",
                "{text}"
            );
        }
        assert!(matches!(
            authorization_code(&response_params("https://app/cb?code=abc"), "s"),
            Err(Error::StateMismatch)
        ));
    }
}
