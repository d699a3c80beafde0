//! Reading a token request: the form body (each parameter at most once,
//! RFC 6749 §3.2) and the client's credentials (RFC 6749 §2.3.1).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_protocol::Aadsts;

use crate::ProtocolError;
use crate::form_body::read_form_body;
use crate::request_body::BodyLimits;

/// The parameters of a token request.
#[derive(Debug, Default, Clone)]
pub struct Form {
    params: HashMap<String, String>,
}

impl Form {
    /// Reads an `application/x-www-form-urlencoded` body within `limits`.
    pub async fn read(
        headers: &HeaderMap,
        body: Body,
        limits: BodyLimits,
    ) -> Result<Form, ProtocolError> {
        Form::parse(&read_form_body(headers, body, limits).await?)
    }

    /// Parses a form body; a parameter given twice is refused (the seed's
    /// AADSTS90011 for two different `client_id`s).
    pub fn parse(bytes: &[u8]) -> Result<Form, ProtocolError> {
        let mut params: HashMap<String, String> = HashMap::new();
        for (name, value) in form_urlencoded::parse(bytes) {
            if let Some(previous) = params.get(name.as_ref()) {
                if name == "client_id" && *previous != value {
                    return Err(Aadsts::AmbiguousClientId {
                        client_ids: vec![previous.clone(), value.into_owned()],
                    }
                    .into());
                }
                return Err(Aadsts::DuplicateParameter {
                    name: name.into_owned(),
                }
                .into());
            }
            params.insert(name.into_owned(), value.into_owned());
        }
        Ok(Form { params })
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A copy with `name` set to `value`.
    pub fn with(&self, name: &str, value: &str) -> Form {
        let mut params = self.params.clone();
        params.insert(name.to_owned(), value.to_owned());
        Form { params }
    }

    pub fn require(&self, name: &'static str) -> Result<&str, ProtocolError> {
        self.get(name)
            .ok_or_else(|| Aadsts::MissingParameter { name }.into())
    }
}

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Basic` (client_secret_basic).
    Basic,
    /// `client_secret` in the body (client_secret_post).
    Post,
    /// A signed `client_assertion` (RFC 7523 §2.2: `private_key_jwt`, or a
    /// federated issuer's token).
    Assertion,
    /// No credential: a public client.
    None,
    /// A managed identity's token, asked for at the managed identity
    /// endpoints (never the token endpoint): Azure AD's `appidacr` "2".
    ManagedIdentity,
}

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client id and credential as presented, before anything is checked.
pub struct PresentedClient {
    pub client_id: String,
    /// The secret, over Basic or in the body.
    pub secret: Option<String>,
    /// The `client_assertion`, its type checked.
    pub assertion: Option<String>,
    pub method: AuthMethod,
}

impl std::fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedClient")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// Finds the client's credentials in the header or the body, refusing both.
pub fn presented_client(
    headers: &HeaderMap,
    form: &Form,
) -> Result<PresentedClient, ProtocolError> {
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let first = authorizations.next();
    if authorizations.next().is_some() {
        return Err(Aadsts::DuplicateAuthorizationHeader.into());
    }
    let assertion = presented_assertion(form)?;
    let Some(authorization) = first else {
        let client_id = form.require("client_id")?.to_owned();
        let secret = form.get("client_secret").map(str::to_owned);
        let method = match (&secret, &assertion) {
            (Some(_), Some(_)) => return Err(Aadsts::ClientAssertionWithSecret.into()),
            (Some(_), None) => AuthMethod::Post,
            (None, Some(_)) => AuthMethod::Assertion,
            (None, None) => AuthMethod::None,
        };
        return Ok(PresentedClient {
            client_id,
            secret,
            assertion,
            method,
        });
    };
    let (client_id, secret) =
        parse_basic(authorization.as_bytes()).ok_or(Aadsts::MalformedAuthorizationHeader)?;
    if form.get("client_secret").is_some() {
        return Err(Aadsts::ConflictingClientCredentials.into());
    }
    if assertion.is_some() {
        return Err(Aadsts::ClientAssertionWithSecret.into());
    }
    if let Some(body_id) = form.get("client_id")
        && body_id != client_id
    {
        return Err(Aadsts::AmbiguousClientId {
            client_ids: vec![client_id, body_id.to_owned()],
        }
        .into());
    }
    Ok(PresentedClient {
        client_id,
        secret: Some(secret),
        assertion: None,
        method: AuthMethod::Basic,
    })
}

/// The `client_assertion`, with the `client_assertion_type` it needs.
fn presented_assertion(form: &Form) -> Result<Option<String>, ProtocolError> {
    let (assertion, kind) = (
        form.get("client_assertion"),
        form.get("client_assertion_type"),
    );
    match (assertion, kind) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(Aadsts::MissingParameter {
            name: "client_assertion_type",
        }
        .into()),
        (None, Some(_)) => Err(Aadsts::MissingParameter {
            name: "client_assertion",
        }
        .into()),
        (Some(assertion), Some(JWT_BEARER_ASSERTION)) => Ok(Some(assertion.to_owned())),
        (Some(_), Some(other)) => Err(Aadsts::ClientAssertionTypeUnsupported {
            value: other.to_owned(),
        }
        .into()),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
/// The client id the request names (the body's, else Basic's), for the
/// sign-in log, whether or not the request is well formed.
pub fn presented_client_id(headers: &HeaderMap, form: &Form) -> Option<String> {
    form.get("client_id").map(str::to_owned).or_else(|| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| parse_basic(value.as_bytes()))
            .map(|(id, _)| id)
    })
}

fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(credentials.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let id = decode(id);
    if id.is_empty() {
        return None;
    }
    Some((id, decode(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_url_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20id:p%3Ass+word"));
        assert_eq!(
            parse_basic(header.as_bytes()),
            Some(("my id".into(), "p:ss word".into()))
        );
        assert_eq!(parse_basic(b"Bearer abc"), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
        assert_eq!(
            parse_basic(format!("basic {}", STANDARD.encode("id-only")).as_bytes()),
            None
        );
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        let err = Form::parse(b"grant_type=password&grant_type=password").unwrap_err();
        assert_eq!(
            err.condition(),
            &Aadsts::DuplicateParameter {
                name: "grant_type".into()
            }
        );
        let err = Form::parse(b"client_id=a&client_id=b").unwrap_err();
        assert_eq!(err.condition().number(), 90011);
    }
}
