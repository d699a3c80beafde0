//! The tower layer a web API puts in front of its routes, and the axum
//! extractor handlers read the claims with.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{BearerChallenge, BearerError, ClaimsRequest, ErrorCode};
use tower::{Layer, Service};

use crate::{Requirement, TokenClaims, Validator};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A challenge: 400, 401 or 403 with `WWW-Authenticate`.
    Bearer(BearerError),
    /// Our failure (keys unreachable and none cached): 500. The detail is
    /// logged, never sent.
    Internal(String),
}

impl From<BearerError> for Rejection {
    fn from(error: BearerError) -> Self {
        Rejection::Bearer(error)
    }
}

/// Finds the bearer token: the `Authorization` header or the
/// `access_token` query parameter (RFC 6750 §2.1, §2.3), never both.
pub fn bearer_token(parts: &Parts, strict: bool) -> Result<String, BearerError> {
    let mut headers = parts.headers.get_all(header::AUTHORIZATION).iter();
    let from_header = match (headers.next(), headers.next()) {
        (Some(_), Some(_)) => return Err(BearerError::MultipleTokens),
        (Some(value), None) => Some(parse_authorization(value.as_bytes(), strict)?),
        (None, _) => None,
    };
    let mut from_query = None;
    for (name, value) in form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()) {
        if name == "access_token" {
            if from_query.is_some() {
                return Err(BearerError::MultipleTokens);
            }
            from_query = Some(value.into_owned());
        }
    }
    match (from_header, from_query) {
        (Some(_), Some(_)) => Err(BearerError::TokenInHeaderAndQuery),
        (Some(token), None) | (None, Some(token)) if !token.is_empty() => Ok(token),
        _ => Err(BearerError::MissingToken),
    }
}

/// `Bearer <token68>`, the scheme in any case. The seed treats a bare
/// `Bearer` as a missing token; the strict mode as a malformed header.
fn parse_authorization(value: &[u8], strict: bool) -> Result<String, BearerError> {
    let value =
        std::str::from_utf8(value).map_err(|_| BearerError::MalformedAuthorizationHeader)?;
    let value = value.trim();
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::MalformedAuthorizationHeader);
    }
    let token = rest.trim();
    if token.is_empty() {
        return if strict {
            Err(BearerError::MalformedAuthorizationHeader)
        } else {
            Ok(String::new())
        };
    }
    let token68 = token.trim_end_matches('=');
    if !token68
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    {
        return Err(BearerError::MalformedAuthorizationHeader);
    }
    Ok(token.to_owned())
}

impl Validator {
    /// A layer that lets a request through only with a valid token meeting
    /// `requirement`; the handler can then extract [`TokenClaims`].
    pub fn require(self: &Arc<Self>, requirement: Requirement) -> BearerAuthLayer {
        BearerAuthLayer {
            validator: self.clone(),
            requirement: Arc::new(requirement),
        }
    }

    /// Authenticates and authorizes one request.
    pub async fn authorize(
        &self,
        parts: &Parts,
        requirement: &Requirement,
    ) -> Result<Arc<TokenClaims>, Rejection> {
        if let Some(injected) = self.scenarios.fire(requirement) {
            return Err(injected);
        }
        let token = bearer_token(parts, self.config().strict)?;
        let claims = self.validate(&token).await?;
        requirement.check(&claims)?;
        Ok(claims)
    }

    /// The response for a refused request.
    pub fn reject(&self, rejection: &Rejection, had_credentials: bool) -> Response {
        match rejection {
            Rejection::Internal(detail) => {
                tracing::error!(detail, "token validation failed on our side");
                // The seed's words for a 500: "An internal error has occurred
                // at the service. Retry the request."
                let body = serde_json::json!({
                    "error": ErrorCode::ServerError.as_str(),
                    "error_description": "An internal error has occurred at the service. Retry the request.",
                })
                .to_string();
                let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Rejection::Bearer(error) => {
                tracing::debug!(error = %error.code(), description = error.description(), "request refused");
                // RFC 6750 §3.1: no error code when no credentials were sent.
                let bare =
                    self.config().strict && !had_credentials && *error == BearerError::MissingToken;
                let status =
                    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
                let mut response = status.into_response();
                if let Some(value) = self.challenge_header(error, bare) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
        }
    }
}

impl Validator {
    /// The `WWW-Authenticate` value for `error`. A refusal is the hot path
    /// of a flood of bad tokens, so each distinct challenge is rendered
    /// once per authorize endpoint and then reused.
    fn challenge_header(&self, error: &BearerError, bare: bool) -> Option<HeaderValue> {
        let authorization_uri = self.authorization_uri();
        let key = (error.clone(), bare);
        if let Some((uri, value)) = self.rendered_challenges().get(&key)
            && **uri == *authorization_uri
        {
            return Some(value.clone());
        }
        let config = self.config();
        let mut challenge = BearerChallenge {
            authorization_uri: Some(authorization_uri.to_string()),
            resource_id: Some(config.resource_id.clone()),
            ..BearerChallenge::default()
        };
        if bare {
            challenge.realm = Some(config.resource_id.clone());
        } else {
            challenge.error = Some(error.code());
            challenge.error_description = Some(error.description().to_owned());
            challenge.scope = error.scope().map(str::to_owned);
            challenge.claims = error.claims().map(ClaimsRequest::to_challenge);
        }
        let value = HeaderValue::from_str(&challenge.to_string()).ok()?;
        self.remember_challenge(key, authorization_uri, value.clone());
        Some(value)
    }
}

fn had_credentials(parts: &Parts) -> bool {
    parts.headers.contains_key(header::AUTHORIZATION)
        || form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .any(|(n, _)| n == "access_token")
}

/// See [`Validator::require`].
#[derive(Clone)]
pub struct BearerAuthLayer {
    validator: Arc<Validator>,
    requirement: Arc<Requirement>,
}

impl<S> Layer<S> for BearerAuthLayer {
    type Service = BearerAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth {
            inner,
            validator: self.validator.clone(),
            requirement: self.requirement.clone(),
        }
    }
}

#[derive(Clone)]
pub struct BearerAuth<S> {
    inner: S,
    validator: Arc<Validator>,
    requirement: Arc<Requirement>,
}

impl<S> Service<Request> for BearerAuth<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.validator.clone();
        let requirement = self.requirement.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match validator.authorize(&parts, &requirement).await {
                Ok(claims) => {
                    parts.extensions.insert(claims);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(rejection) => Ok(validator.reject(&rejection, had_credentials(&parts))),
            }
        })
    }
}

/// Handlers behind the layer take the claims as an argument.
impl<S: Send + Sync> FromRequestParts<S> for TokenClaims {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<TokenClaims>>()
            .map(|c| (**c).clone())
            .ok_or_else(|| {
                // A handler asked for claims on a route without the layer: our bug.
                tracing::error!("TokenClaims extracted on a route without BearerAuthLayer");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            })
    }
}
