//! Reading an `application/x-www-form-urlencoded` request body, as the
//! token endpoint and a posted authorization request both do: the media
//! type first, then the body within the server's limits (size, time; a
//! declared `Content-Length` over the limit is refused before a byte is
//! read), each failure its own condition.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use latchkey_protocol::Aadsts;

use crate::request_body::{BodyError, BodyLimits, read_whole};

pub async fn read_form_body(
    headers: &HeaderMap,
    body: Body,
    limits: BodyLimits,
) -> Result<Bytes, Aadsts> {
    if !is_form_encoded(headers) {
        return Err(Aadsts::NotFormEncoded);
    }
    read_whole(body, limits).await.map_err(|error| match error {
        BodyError::TooLarge => Aadsts::BodyTooLarge {
            limit: limits.max_bytes,
        },
        BodyError::TooSlow => Aadsts::BodyTooSlow,
        BodyError::Malformed => Aadsts::MalformedBody,
    })
}

fn is_form_encoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
