//! Reading a request body whole, within the server's limits: at most
//! `max_body_bytes`, and in time. The time allowed is
//! `body_read_timeout` from the first poll, plus one second for every
//! `body_min_rate` bytes that arrived (a minimum rate, as Apache's
//! `mod_reqtimeout` has it): a large body on a slow link gets through, a
//! client that trickles a byte now and then does not hold the request open.

use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::config::ServerConfig;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than the limit")]
    TooLarge,
    #[error("the request body did not arrive in time")]
    TooSlow,
    /// Broken framing (chunked encoding, a short body) or a broken connection.
    #[error("the request body's framing is malformed")]
    Malformed,
}

/// The limits one body is read under.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub timeout: Duration,
    /// Bytes a second; 0 gives no extension past `timeout`.
    pub min_rate: u64,
}

impl BodyLimits {
    pub fn of(config: &ServerConfig) -> BodyLimits {
        BodyLimits {
            max_bytes: config.max_body_bytes,
            timeout: config.body_read_timeout,
            min_rate: config.body_min_rate,
        }
    }

    /// When reading must be done, having received `received` bytes.
    fn deadline(&self, start: Instant, received: usize) -> Instant {
        let earned = match self.min_rate {
            0 => Duration::ZERO,
            rate => Duration::from_secs_f64(received as f64 / rate as f64),
        };
        start + self.timeout + earned
    }
}

/// The whole body, or why not. A declared length over the limit is refused
/// before a byte is read.
pub async fn read_whole(mut body: Body, limits: BodyLimits) -> Result<Bytes, BodyError> {
    if http_body::Body::size_hint(&body).lower() > limits.max_bytes as u64 {
        return Err(BodyError::TooLarge);
    }
    let start = Instant::now();
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let deadline = limits.deadline(start, buffer.len());
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TooSlow),
            Ok(None) => return Ok(Bytes::from(buffer)),
            Ok(Some(Err(error))) => return Err(BodyError::from_axum(error)),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limits.max_bytes {
                return Err(BodyError::TooLarge);
            }
            buffer.extend_from_slice(&data);
        }
    }
}

/// A body already read (`Ok`), or one that answers its reader with the
/// error reading it met (`Err`), so the handler reports it where it would
/// have read the body itself.
pub fn replay(outcome: Result<Bytes, BodyError>) -> Body {
    match outcome {
        Ok(bytes) => Body::from(bytes),
        Err(error) => Body::new(http_body_util::StreamBody::new(futures_util::stream::iter(
            [Err::<http_body::Frame<Bytes>, _>(error)],
        ))),
    }
}

impl BodyError {
    /// The `BodyError` a replayed body carries, or `Malformed` for what the
    /// HTTP layer reported (framing, a reset connection).
    fn from_axum(error: axum::Error) -> BodyError {
        match error.into_inner().downcast::<BodyError>() {
            Ok(error) => *error,
            Err(_) => BodyError::Malformed,
        }
    }
}
