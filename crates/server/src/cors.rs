//! CORS (the Fetch standard's HTTP responses), for the browser's pages
//! that sign in with a single-page-application library (msal-browser).
//!
//! - Discovery and the keys are public: any origin may read them
//!   (`Access-Control-Allow-Origin: *`, no credentials).
//! - The v2.0 token endpoint echoes the request's `Origin` on every
//!   answer, refusals included, so the page can read the seed's JSON
//!   error; whether a cross-origin request gets tokens is the grant's
//!   decision (`token::cross_origin`), never this layer's. Its preflight
//!   allows `POST` with the headers MSAL.js sends (below).
//! - The v1 token endpoint answers no CORS at all: it has no
//!   single-page-application platform, and refuses cross-origin requests.

use std::time::Duration;

use axum::http::{HeaderName, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// How long a browser may cache a preflight (Chromium caps it at 2 hours,
/// Firefox at 24).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Discovery documents and keys: public, to any origin.
pub fn public() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET])
        .allow_headers(Any)
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Request headers a browser's token request may carry. msal-browser 2.x
/// to 5.x sends `Content-Type` (`application/x-www-form-urlencoded;
/// charset=utf-8`, which alone needs no preflight) and, once it knows the
/// account, `X-AnchorMailbox` (its routing hint); its library, telemetry
/// and correlation data travel in the query and body. Older MSAL.js and
/// other SDKs sent them as headers: those are allowed too.
const TOKEN_REQUEST_HEADERS: [&str; 14] = [
    "content-type",
    "x-anchormailbox",
    "client-request-id",
    "return-client-request-id",
    "x-ms-client-request-id",
    "x-client-sku",
    "x-client-ver",
    "x-client-os",
    "x-client-cpu",
    "x-ms-lib-capability",
    "x-client-current-telemetry",
    "x-client-last-telemetry",
    "x-app-name",
    "x-app-ver",
];

/// Response headers the page may read: the ids MSAL logs, and the delay
/// its throttling honours.
const TOKEN_EXPOSED_HEADERS: [&str; 3] = ["x-ms-request-id", "client-request-id", "retry-after"];

/// The v2.0 token endpoint: the request's origin, echoed.
pub fn token() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::POST])
        .allow_headers(TOKEN_REQUEST_HEADERS.map(HeaderName::from_static))
        .expose_headers(TOKEN_EXPOSED_HEADERS.map(HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE)
}

/// `OPTIONS` on a public route that is not a preflight (no
/// `Access-Control-Request-Method`): what the route allows (RFC 9110 §9.3.7).
pub async fn options() -> impl axum::response::IntoResponse {
    (
        axum::http::StatusCode::NO_CONTENT,
        [(axum::http::header::ALLOW, "GET,HEAD,OPTIONS")],
    )
}
