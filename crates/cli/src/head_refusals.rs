//! The JSON error document for requests hyper refuses before any route
//! runs. A request head that HTTP/1.1 cannot parse (a doubled or
//! unparsable `Content-Length`, a malformed request line, headers or a URI
//! past hyper's limits) never becomes a request: hyper answers it itself,
//! with an empty 400, 431 or 414, and closes the connection. hyper has no
//! hook for that answer, and a client that reads an empty body reports a
//! raw JSON parse error instead of the condition.
//!
//! So the connection's writer recognises hyper's answer on its way out —
//! its exact bytes: the status line, then `connection: close`,
//! `content-length: 0` and `date`, nothing else — and writes the catalogue's
//! document in its place, with the same status, fresh ids and the headers
//! every other error carries. No route can produce those bytes: every
//! response the router makes has a body or starts with other headers, and
//! `content-type` comes before `connection` in all of them.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use latchkey_protocol::{Aadsts, ErrorContext, Profile, TokenErrorResponse};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's automatic answers (`hyper::proto::h1::role::Server::on_error`),
/// each with the condition it stands for.
const REFUSALS: [(&[u8], Aadsts); 3] = [
    (
        b"HTTP/1.1 400 Bad Request\r\n",
        Aadsts::MalformedRequestHead,
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        Aadsts::RequestHeadersTooLarge,
    ),
    (b"HTTP/1.1 414 URI Too Long\r\n", Aadsts::RequestUriTooLong),
];

/// What comes after the status line in each of hyper's answers, before `date`.
const HYPER_HEADERS: &[u8] = b"connection: close\r\ncontent-length: 0\r\n";

/// Longer than any of hyper's answers: a write this long is never one.
const LONGEST_REFUSAL: usize = 160;

/// How the replacement is written: the serve loop's profile and, over
/// https to a DNS name, the HSTS header the router adds to everything else.
#[derive(Debug, Clone)]
pub struct RefusalStyle {
    pub profile: Profile,
    pub hsts: Option<&'static str>,
}

/// A connection whose writes pass through, except hyper's own refusals.
pub struct JsonRefusals<I> {
    inner: I,
    style: Arc<RefusalStyle>,
    /// The replacement not yet written, and how much of it was.
    pending: Option<(Vec<u8>, usize)>,
}

impl<I> JsonRefusals<I> {
    pub fn new(inner: I, style: Arc<RefusalStyle>) -> Self {
        JsonRefusals {
            inner,
            style,
            pending: None,
        }
    }
}

impl<I: AsyncWrite + Unpin> JsonRefusals<I> {
    /// Writes what is left of a replacement; ready once all of it is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = self.pending.as_mut() {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` in place of writing it if it is one of hyper's refusals.
    fn intercepted(&mut self, head: &[u8]) -> bool {
        match replacement(head, &self.style) {
            Some(bytes) => {
                self.pending = Some((bytes, 0));
                true
            }
            None => false,
        }
    }
}

/// The document to send instead of `head`, if `head` is one of hyper's refusals.
fn replacement(head: &[u8], style: &RefusalStyle) -> Option<Vec<u8>> {
    if head.len() > LONGEST_REFUSAL || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let (status_line, condition) = REFUSALS.iter().find(|(line, _)| head.starts_with(line))?;
    let rest = head[status_line.len()..].strip_prefix(HYPER_HEADERS)?;
    let date = rest.strip_suffix(b"\r\n\r\n")?;
    if !date.starts_with(b"date: ") || date.contains(&b'\n') {
        return None;
    }
    let ctx = ErrorContext {
        trace_id: uuid::Uuid::new_v4(),
        correlation_id: uuid::Uuid::new_v4(),
        timestamp: time::OffsetDateTime::now_utc(),
    };
    let document = TokenErrorResponse::new(condition, &ctx, style.profile);
    let status = std::str::from_utf8(&status_line[9..12]).unwrap_or("400");
    tracing::info!(trace_id = %ctx.trace_id, correlation_id = %ctx.correlation_id, status, error = %document.error, aadsts = condition.number(), "request refused before routing");
    let body = document.to_json();
    let mut bytes = Vec::with_capacity(status_line.len() + 256 + body.len());
    bytes.extend_from_slice(status_line);
    bytes.extend_from_slice(
        b"cache-control: no-store\r\npragma: no-cache\r\ncontent-type: application/json; charset=utf-8\r\n",
    );
    bytes.extend_from_slice(format!("x-ms-request-id: {}\r\n", ctx.trace_id).as_bytes());
    if let Some(hsts) = style.hsts {
        bytes.extend_from_slice(format!("strict-transport-security: {hsts}\r\n").as_bytes());
    }
    bytes.extend_from_slice(
        format!("content-length: {}\r\nconnection: close\r\n", body.len()).as_bytes(),
    );
    bytes.extend_from_slice(date);
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes.extend_from_slice(body.as_bytes());
    Some(bytes)
}

impl<I: AsyncRead + Unpin> AsyncRead for JsonRefusals<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for JsonRefusals<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if self.intercepted(buf) {
            // hyper's bytes count as written; the replacement goes out
            // now as far as it can, and the rest at the flush that follows.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total <= LONGEST_REFUSAL && bufs.first().is_some_and(|b| b.starts_with(b"HTTP/1.1 4")) {
            let head: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if self.intercepted(&head) {
                let _ = self.poll_pending(cx)?;
                return Poll::Ready(Ok(total));
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style() -> RefusalStyle {
        RefusalStyle {
            profile: Profile::Azure,
            hsts: None,
        }
    }

    const DATE: &str = "date: Sun, 06 Dec 2026 01:08:18 GMT";

    #[test]
    fn each_of_hypers_refusals_becomes_the_document_with_its_status() {
        for (line, number) in [
            (
                "HTTP/1.1 400 Bad Request",
                "request's HTTP head is malformed",
            ),
            (
                "HTTP/1.1 431 Request Header Fields Too Large",
                "headers are too large",
            ),
            ("HTTP/1.1 414 URI Too Long", "URI is too long"),
        ] {
            let head =
                format!("{line}\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n");
            let bytes = replacement(head.as_bytes(), &style()).expect(line);
            let text = String::from_utf8(bytes).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with(&format!("{line}\r\ncache-control: no-store\r\npragma: no-cache\r\ncontent-type: application/json; charset=utf-8\r\nx-ms-request-id: ")), "{head}");
            assert!(
                head.ends_with(&format!(
                    "\r\ncontent-length: {}\r\nconnection: close\r\n{DATE}",
                    body.len()
                )),
                "{head}"
            );
            let document: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(document["error"], "invalid_request");
            assert_eq!(document["error_codes"], serde_json::json!([9002313]));
            assert!(
                document["error_description"]
                    .as_str()
                    .unwrap()
                    .contains(number)
            );
        }
    }

    #[test]
    fn anything_else_passes_through() {
        for head in [
            // A route's own 400 has a body and its headers in another order.
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
            ),
            format!(
                "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 2\r\n{DATE}\r\n\r\n{{}}"
            ),
            format!(
                "HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
            ),
            format!(
                "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\nx: y\r\n\r\n"
            ),
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n".to_owned(),
        ] {
            assert!(replacement(head.as_bytes(), &style()).is_none(), "{head}");
        }
    }

    #[test]
    fn https_answers_carry_hsts() {
        let style = RefusalStyle {
            profile: Profile::Azure,
            hsts: Some("max-age=31536000"),
        };
        let head = format!(
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
        );
        let text = String::from_utf8(replacement(head.as_bytes(), &style).unwrap()).unwrap();
        assert!(text.contains("\r\nstrict-transport-security: max-age=31536000\r\n"));
    }
}
