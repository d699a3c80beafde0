//! Interactive sign-in: the authorization code flow with PKCE (S256) and a
//! loopback redirect listener (RFC 8252 §7.3): the browser comes back to
//! `http://127.0.0.1:{port}/` on a port chosen at random.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_protocol::TokenResponseV1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::parse::{authorization_code, response_params};
use crate::{Client, Error};

/// How long the listener waits for the browser.
const WAIT_FOR_BROWSER: Duration = Duration::from_secs(300);

fn random_b64(bytes: usize) -> String {
    let buf: Vec<u8> = (0..bytes).map(|_| fastrand::u8(..)).collect();
    URL_SAFE_NO_PAD.encode(buf)
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1–4.2).
pub fn pkce_pair() -> (String, String) {
    // 32 bytes from the OS generator: fastrand is not for secrets.
    let mut bytes = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    }
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

impl Client {
    /// Signs a person in through the browser. `open` is given the URL to
    /// show; the tokens are cached for `resource`.
    pub async fn login(
        &self,
        authority: &str,
        resource: &str,
        scope: Option<&str>,
        open: impl FnOnce(&str),
    ) -> Result<TokenResponseV1, Error> {
        self.login_with_claims(authority, resource, scope, None, open)
            .await
    }

    /// [`Client::login`] with a claims request (JSON), passed to the
    /// authorization endpoint as `claims` unchanged: what a claims
    /// challenge asked for (a second factor), which the authority then
    /// asks the person for.
    pub async fn login_with_claims(
        &self,
        authority: &str,
        resource: &str,
        scope: Option<&str>,
        claims: Option<&str>,
        open: impl FnOnce(&str),
    ) -> Result<TokenResponseV1, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on a loopback port: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Usage(e.to_string()))?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}/");
        let state = random_b64(16);
        let (verifier, challenge) = pkce_pair();
        let authority = authority.trim_end_matches('/');
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("client_id", &self.config().client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("resource", resource)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(scope) = scope {
            query.append_pair("scope", scope);
        }
        if let Some(claims) = claims {
            query.append_pair("claims", claims);
        }
        open(&format!("{authority}/oauth2/authorize?{}", query.finish()));
        let params = tokio::time::timeout(WAIT_FOR_BROWSER, wait_for_redirect(&listener))
            .await
            .map_err(|_| Error::Usage("no answer from the browser within 5 minutes".into()))??;
        let code = authorization_code(&params, &state)?;
        let response = self
            .redeem_code(authority, &code, &redirect_uri, &verifier)
            .await?;
        self.remember(authority, resource, &response);
        Ok(response)
    }
}

/// Serves the loopback listener until a request brings `code` or `error`.
async fn wait_for_redirect(
    listener: &TcpListener,
) -> Result<std::collections::HashMap<String, String>, Error> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut read = 0;
        while read < buf.len() {
            let n = stream.read(&mut buf[read..]).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            read += n;
            if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let head = String::from_utf8_lossy(&buf[..read]).into_owned();
        let target = head
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .unwrap_or("/");
        let params = response_params(target);
        let done = params.contains_key("code") || params.contains_key("error");
        let page = if done {
            "<!doctype html><title>Latchkey</title><p>Signed in. You can close this window and return to the terminal.</p>"
        } else {
            "<!doctype html><title>Latchkey</title><p>Waiting for the sign-in to finish.</p>"
        };
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(reply.as_bytes()).await;
        if done {
            return Ok(params);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pairs_are_s256() {
        let (verifier, challenge) = pkce_pair();
        assert_eq!(verifier.len(), 43);
        assert_eq!(
            challenge,
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
        );
        assert_ne!(pkce_pair().0, verifier);
    }
}
