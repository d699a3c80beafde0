//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628
//! §3.4–3.5; v1: `device_code`, with the code as `code=`, as ADAL sends
//! it): the device polls until the person has finished at the device
//! login page.
//!
//! The answers, in order: a code this client was never given
//! (`bad_verification_code`), one already redeemed (`invalid_grant`),
//! expired (`expired_token`), declined (`authorization_declined`), a
//! person the app does not admit (AADSTS50105, 403), still
//! pending (`authorization_pending`; `slow_down` when polled again sooner
//! than `interval`, but never on the first poll, which ADAL and msal-node
//! send at once and ADAL cannot slow down for). Approved: one conditional
//! `UPDATE` redeems it with the family's first refresh token, so of two
//! pollers exactly one gets tokens.

use latchkey_protocol::{Aadsts, TokenResponseV1};
use uuid::Uuid;

use super::Caller;
use super::issue::{UserSignIn, not_assigned, require_policy, resolve_api};
use super::request::Form;
use crate::ProtocolError;
use crate::secrets::Digest;
use crate::state::AppState;
use crate::store::{DeviceCodeRecord, DeviceCodeStatus};

pub async fn grant(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
) -> Result<TokenResponseV1, ProtocolError> {
    let device_code = match form.get("device_code").or_else(|| form.get("code")) {
        Some(code) => code,
        None => form.require("device_code")?,
    };
    let digest = Digest::of(device_code);
    let now = caller.now.unix_timestamp();
    let record = state
        .store
        .find_device_code(&digest)
        .await?
        .filter(|r| r.tenant_id == caller.tenant.id && r.client_id == caller.app.client_id)
        .ok_or(Aadsts::DeviceCodeUnknown)?;
    if record.redeemed_at.is_some() {
        return Err(Aadsts::DeviceCodeRedeemed.into());
    }
    if record.expires_at <= now {
        return Err(Aadsts::DeviceCodeExpired.into());
    }
    let (user_oid, auth_methods) = match &record.status {
        DeviceCodeStatus::Declined => return Err(Aadsts::DeviceAuthorizationDeclined.into()),
        DeviceCodeStatus::NotAssigned => return Err(not_assigned(caller.app)),
        DeviceCodeStatus::Pending => return Err(pending(state, caller, &record).await),
        DeviceCodeStatus::Approved {
            user_oid,
            auth_methods,
        } => (*user_oid, auth_methods.as_str()),
    };
    let user = state
        .store
        .find_user(record.tenant_id, user_oid)
        .await?
        .ok_or(Aadsts::GrantRevoked)?;
    let api = resolve_api(state, caller, &record.resource)?;
    // Before the code is spent: a sign-in without the second factor the
    // API's policy wants is told so, and the code stays unredeemed.
    require_policy(api, &user, auth_methods, form)?;
    let sign_in = UserSignIn {
        user: &user,
        api,
        scp: record.scope.clone(),
        oidc_scope: &record.oidc_scope,
        family: Uuid::new_v4(),
        nonce: None,
        auth_methods,
        spa_origin: None,
    };
    // Signed before the redemption is decided (a lost race wastes one
    // signature), so that redeeming and storing the first refresh token
    // are one transaction.
    let (response, refresh) = sign_in.prepare(state, caller, caller.now)?;
    if !state
        .store
        .redeem_device_code(&digest, now, refresh.as_ref())
        .await?
    {
        // Another poll redeemed it first (or it expired meanwhile).
        return Err(Aadsts::DeviceCodeRedeemed.into());
    }
    Ok(response)
}

/// Still pending: `slow_down` if this poll came sooner than `interval`
/// after the previous one, else `authorization_pending`.
async fn pending(
    state: &AppState,
    caller: &Caller<'_>,
    record: &DeviceCodeRecord,
) -> ProtocolError {
    let now_ms = i64::try_from(caller.now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    if let Err(err) = state.store.note_device_poll(&record.digest, now_ms).await {
        return err.into();
    }
    let interval_ms = record.interval_seconds.saturating_mul(1000);
    match record.last_polled_ms {
        Some(previous) if now_ms - previous < interval_ms => Aadsts::DevicePolledTooFast {
            interval: u64::try_from(record.interval_seconds).unwrap_or_default(),
        }
        .into(),
        _ => Aadsts::DeviceAuthorizationPending.into(),
    }
}
