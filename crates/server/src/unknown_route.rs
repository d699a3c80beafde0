//! What answers when no endpoint does: a path this server does not serve
//! (404) or a method a known route does not take (405), each as the seed's
//! JSON error document, so a client reports an AADSTS error with ids rather
//! than failing to parse an empty body.

use axum::http::{Method, StatusCode, Uri};
use latchkey_protocol::Aadsts;

use crate::ProtocolError;

/// The router's fallback: no route has this path.
pub async fn not_found(uri: Uri) -> ProtocolError {
    ProtocolError::new(Aadsts::UnknownEndpoint {
        path: uri.path().to_owned(),
    })
    .with_status(StatusCode::NOT_FOUND)
}

/// A route that exists, with a method it does not take (the routes that
/// take only GET; axum adds their `Allow` header).
pub async fn method_not_allowed(method: Method) -> ProtocolError {
    ProtocolError::new(Aadsts::MethodNotAllowedOnRoute {
        method: method.to_string(),
    })
    .with_status(StatusCode::METHOD_NOT_ALLOWED)
}
