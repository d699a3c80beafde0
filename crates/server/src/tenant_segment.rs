//! The `{tenant}` path segment. axum's `Path` refuses a segment that is not
//! UTF-8 once percent-decoded with a `text/plain` 400 of its own; here that
//! is Azure AD's AADSTS900023, rendered like every other error (the seed's
//! JSON document, or the error page at the authorization endpoint).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use latchkey_protocol::Aadsts;

use crate::ProtocolError;

/// The tenant segment, percent-decoded.
pub struct TenantSegment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TenantSegment {
    type Rejection = ProtocolError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ProtocolError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(segment)) => Ok(TenantSegment(segment)),
            Err(_) => Err(Aadsts::InvalidTenantIdentifier {
                tenant: raw_tenant(parts.uri.path()).to_owned(),
            }
            .into()),
        }
    }
}

/// The first path segment as sent (still percent-encoded, so ASCII): every
/// route with a `{tenant}` starts with it.
fn raw_tenant(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::raw_tenant;

    #[test]
    fn the_raw_tenant_is_the_first_segment() {
        assert_eq!(raw_tenant("/%FF%FE/oauth2/token"), "%FF%FE");
        assert_eq!(raw_tenant("/common/discovery/keys"), "common");
    }
}
