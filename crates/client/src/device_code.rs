//! Signing a person in from a command line (RFC 8628): the device
//! authorization, its message shown to the person, then polling the token
//! endpoint as §3.5 asks: `interval` seconds between polls, five more
//! after each `slow_down`, until tokens or any other answer (declined,
//! expired, an error), and no longer than `expires_in`.

use std::time::Duration;

use latchkey_protocol::{DeviceAuthorizationResponseV1, ErrorCode, TokenResponseV1};
use tokio::time::Instant;

use crate::{Client, Error};

/// RFC 8628 §3.5: how much slower to poll after `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

impl Client {
    /// Asks the authority (`/oauth2/devicecode`) for a device code and
    /// the user code a person types at its verification URL.
    pub async fn start_device_sign_in(
        &self,
        authority: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorizationResponseV1, Error> {
        let url = format!("{}/oauth2/devicecode", authority.trim_end_matches('/'));
        let mut params = vec![("resource", resource)];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        self.post_form(&url, &params).await
    }

    /// Polls until the person has finished at the verification URL; the
    /// tokens are cached for `resource`. `expires_in` bounds the wait; the
    /// authority's own answer (`expired_token`) is the one reported.
    pub async fn finish_device_sign_in(
        &self,
        authority: &str,
        resource: &str,
        device: &DeviceAuthorizationResponseV1,
    ) -> Result<TokenResponseV1, Error> {
        let seconds = |value: &str| Duration::from_secs(value.parse().unwrap_or(5));
        let mut interval = seconds(&device.interval).max(Duration::from_secs(1));
        let deadline = Instant::now() + seconds(&device.expires_in);
        let params = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device.device_code.as_str()),
            ("resource", resource),
        ];
        loop {
            let error = match self.request_token(authority, &params).await {
                Ok(tokens) => {
                    self.remember(authority, resource, &tokens);
                    return Ok(tokens);
                }
                Err(error) => error,
            };
            match error.token_error_code() {
                Some(ErrorCode::AuthorizationPending) => {}
                Some(ErrorCode::SlowDown) => interval += SLOW_DOWN_STEP,
                _ => return Err(error),
            }
            // One poll after the deadline, so that the authority says
            // what became of the code.
            if Instant::now() > deadline {
                return Err(error);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// The whole device sign-in: `show` is given the message for the
    /// person (where to go, which code to type).
    pub async fn login_with_device_code(
        &self,
        authority: &str,
        resource: &str,
        scope: Option<&str>,
        show: impl FnOnce(&str),
    ) -> Result<TokenResponseV1, Error> {
        let device = self
            .start_device_sign_in(authority, resource, scope)
            .await?;
        show(&device.message);
        self.finish_device_sign_in(authority, resource, &device)
            .await
    }
}
