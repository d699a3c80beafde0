//! The per-request context layer: trace and correlation ids, the request's
//! one reading of the clock, the rendering of `ProtocolError`s, and the
//! request log line; and the overload guard, a layer of its own on the
//! routes it protects.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{Aadsts, ErrorContext, TokenErrorResponse};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ProtocolError;
use crate::request_body::{BodyLimits, read_whole, replay};
use crate::state::AppState;
use crate::telemetry;

/// The ids and time of one request; every error it gets carries them.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    /// `ids.timestamp` is the request's time: what it checks expiry
    /// against, signs and stores.
    pub ids: ErrorContext,
    /// `return-client-request-id: true` was sent.
    pub return_client_request_id: bool,
    /// The peer's address, when the router is served with connection info
    /// (`into_make_service_with_connect_info`). Not `X-Forwarded-For`: a
    /// header anyone can write would let a caller pick its own rate limit.
    pub client_ip: Option<IpAddr>,
}

impl RequestContext {
    /// The request's ids from its headers and query (`query`, the raw
    /// query string): the correlation id is the first GUID of the
    /// `client-request-id` header (ADAL, MSAL Python), the
    /// `x-ms-client-request-id` header (the Azure SDKs, @azure/identity)
    /// and the `client-request-id` query parameter (MSAL.js, msal-node),
    /// in that order; a value that is not a GUID counts as absent.
    /// `return-client-request-id: true`, as a header or in the query,
    /// asks for it back.
    pub fn new(
        headers: &HeaderMap,
        query: Option<&str>,
        now: OffsetDateTime,
        client_ip: Option<IpAddr>,
    ) -> RequestContext {
        // Only a GUID is echoed: anything else could smuggle text into logs
        // and into the error description.
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let query_param = |name: &str| {
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let guid = |value: Option<String>| value.and_then(|v| Uuid::try_parse(v.trim()).ok());
        let correlation_id = guid(header("client-request-id"))
            .or_else(|| guid(header("x-ms-client-request-id")))
            .or_else(|| guid(query_param("client-request-id")))
            .unwrap_or_else(Uuid::new_v4);
        let return_client_request_id = header("return-client-request-id")
            .or_else(|| query_param("return-client-request-id"))
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        RequestContext {
            ids: ErrorContext {
                trace_id: Uuid::new_v4(),
                correlation_id,
                timestamp: now,
            },
            return_client_request_id,
            client_ip,
        }
    }

    /// The request's time.
    pub fn now(&self) -> OffsetDateTime {
        self.ids.timestamp
    }

    /// The request's time in Unix seconds, as the store keeps times.
    pub fn unix_now(&self) -> i64 {
        self.ids.timestamp.unix_timestamp()
    }
}

/// Wraps every route: assigns ids, reads the clock, renders errors, stamps
/// the id headers and logs the outcome. Each log line carries the ids as
/// fields (a span per request would cost every request, logged or not).
pub async fn request_context(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let ctx = RequestContext::new(
        request.headers(),
        request.uri().query(),
        state.config.clock.now(),
        client_ip,
    );
    request.extensions_mut().insert(ctx);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let metered = telemetry::enabled().then(|| (Instant::now(), endpoint(&request)));
    let response = next.run(request).await;
    if let Some((started, endpoint)) = metered {
        telemetry::request(&response, endpoint, started.elapsed());
    }
    finish(response, &ctx, &state, &method, &path)
}

/// The request's matched route (the metrics' `endpoint` label).
fn endpoint(request: &Request) -> &'static str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(telemetry::UNMATCHED, |path| {
            telemetry::intern(path.as_str())
        })
}

/// Sheds load past the in-flight limit with the seed's 503. On the routes
/// whose errors are JSON documents; the authorize endpoint applies the
/// limit itself, once it knows where it may send the error (a redirect).
///
/// The body is read first (within the body limits), so a request holds a
/// permit only once it has fully arrived: a client that stops sending
/// after its headers costs a connection, never a permit while it dawdles.
/// A body that could not be read is handed on as one that fails the same
/// way, so the handler answers it where it reads its body, in its own
/// order of checks; it still needs a permit, since a handler that reads no
/// body (discovery, keys) would otherwise run unbounded.
pub async fn overload_guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let outcome = read_whole(body, BodyLimits::of(&state.config)).await;
    let arrived = outcome.is_ok();
    let request = Request::from_parts(parts, replay(outcome));
    let permit = state.in_flight.clone().try_acquire_owned();
    let _in_flight = permit.is_ok().then(telemetry::InFlight::start);
    match permit {
        Ok(permit) if !arrived => {
            // Never fully arrived: answered at once with what went wrong.
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Ok(permit) => {
            // Back of the run queue, permit in hand: a token is CPU work
            // that never awaits, so without this a request would hold its
            // permit only while it runs, never while it waits behind the
            // others, and the limit would bound nothing under overload.
            // With it, requests admitted but not yet served count, and the
            // limit bounds the queue (and so its latency).
            tokio::task::yield_now().await;
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => {
            if telemetry::enabled() {
                telemetry::overload_refused(endpoint(&request));
            }
            ProtocolError::new(Aadsts::Throttled)
                .with_retry_after(1)
                .into_response()
        }
    }
}

fn finish(
    mut response: Response,
    ctx: &RequestContext,
    state: &AppState,
    method: &axum::http::Method,
    path: &str,
) -> Response {
    crate::sign_in_log::observe(state, ctx, &response);
    if let Some(error) = response.extensions_mut().remove::<ProtocolError>() {
        let profile = error.profile().unwrap_or(state.config.profile);
        let mut document = TokenErrorResponse::new(error.condition(), &ctx.ids, profile);
        document.claims = error.claims().map(str::to_owned);
        let status = response.status();
        match error.internal_detail() {
            Some(detail) => {
                tracing::error!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, %method, path, status = status.as_u16(), error = %document.error, aadsts = error.condition().number(), detail, "request failed")
            }
            // A request shed under overload is logged at debug: a line
            // each would cost the shedding as much as the rest of the 503,
            // at the moment the server has least to spare.
            None if *error.condition() == Aadsts::Throttled && error.injected().is_none() => {
                tracing::debug!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, %method, path, status = status.as_u16(), aadsts = error.condition().number(), "request shed")
            }
            None => {
                tracing::info!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, %method, path, status = status.as_u16(), error = %document.error, aadsts = error.condition().number(), injected = error.injected().is_some(), scenario = error.injected(), "request refused")
            }
        }
        *response.body_mut() = Body::from(document.to_json());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    } else {
        tracing::debug!(trace_id = %ctx.ids.trace_id, correlation_id = %ctx.ids.correlation_id, %method, path, status = response.status().as_u16(), "request served");
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&ctx.ids.trace_id.to_string()) {
        headers.insert("x-ms-request-id", value);
    }
    if ctx.return_client_request_id
        && let Ok(value) = HeaderValue::from_str(&ctx.ids.correlation_id.to_string())
    {
        headers.insert("client-request-id", value);
    }
    response
}
