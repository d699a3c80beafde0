//! Reading an `application/x-www-form-urlencoded` request body, as the
//! token endpoint and a posted authorization request both do: the media
//! type first, then at most `limit` bytes (a declared `Content-Length`
//! over the limit is refused before a byte is read).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use latchkey_protocol::Aadsts;

pub async fn read_form_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, Aadsts> {
    if !is_form_encoded(headers) {
        return Err(Aadsts::NotFormEncoded);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Aadsts::BodyTooLarge { limit });
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Aadsts::BodyTooLarge { limit })
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
