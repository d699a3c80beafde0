//! `grant_type=refresh_token` (RFC 6749 §6) with rotation: every refresh
//! returns a new refresh token and retires the old one. Presenting a
//! retired token again means it leaked, so its whole family is revoked
//! (RFC 9700 §4.14.2). The policy is strict: of two concurrent refreshes of
//! one token, one wins and the other counts as reuse.
//!
//! Like Azure AD's multi-resource refresh tokens, a refresh may name another
//! `resource`; the user's consent for that resource decides.

use latchkey_protocol::{Aadsts, TokenResponseV1};

use super::issue::{
    Subject, access_token, delegated_scopes, new_refresh_token, resolve_api, v1_response,
};
use super::request::Form;
use super::{Caller, Forced};
use crate::ProtocolError;
use crate::scope::requested_scopes;
use crate::secrets::Digest;
use crate::state::AppState;
use crate::store::{RefreshTokenRecord, Rotation};

pub async fn grant(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
    forced: Forced,
) -> Result<TokenResponseV1, ProtocolError> {
    let presented = Digest::of(form.require("refresh_token")?);
    let now = caller.now;
    let record = current_record(state, caller, &presented, now.unix_timestamp()).await?;
    if forced == Forced::Revocation {
        // As if the family had been revoked (a password change, an admin):
        // it really is, so the token's successors stop working too.
        state
            .store
            .revoke_refresh_family(record.family_id, now.unix_timestamp())
            .await?;
        return Err(Aadsts::GrantRevoked.into());
    }

    let resource = form.get("resource").unwrap_or(&record.resource);
    let api = resolve_api(state, caller, resource)?;
    let requested = requested_scopes(form.get("scope"), api)?;
    let user = state
        .store
        .find_user(record.tenant_id, record.user_oid)
        .await?
        .ok_or(Aadsts::GrantRevoked)?;
    let scp = delegated_scopes(state, caller, &user, api, &requested.api).await?;

    let (token, successor) = new_refresh_token(
        state,
        caller,
        &user,
        &record.resource,
        &record.scope,
        record.family_id,
        now,
    )?;
    match state
        .store
        .rotate_refresh_token(&presented, &successor, now.unix_timestamp())
        .await?
    {
        Rotation::Rotated => {}
        other => return Err(rotation_failure(other).into()),
    }
    let issued = access_token(
        state,
        caller,
        api,
        &Subject::User {
            user: &user,
            scp: scp.clone(),
        },
        now,
    )?;
    Ok(v1_response(api, issued, now, Some(scp), Some(token)))
}

/// The presented token's record, if it is this client's and still current.
/// A retired one revokes its family.
async fn current_record(
    state: &AppState,
    caller: &Caller<'_>,
    presented: &Digest,
    now: i64,
) -> Result<RefreshTokenRecord, ProtocolError> {
    let record = state
        .store
        .find_refresh_token(presented)
        .await?
        .ok_or(Aadsts::GrantMalformed)?;
    if record.tenant_id != caller.tenant.id {
        return Err(Aadsts::GrantMalformed.into());
    }
    if record.client_id != caller.app.client_id {
        return Err(Aadsts::GrantClientMismatch.into());
    }
    if record.revoked_at.is_some() {
        return Err(Aadsts::GrantRevoked.into());
    }
    if record.used_at.is_some() {
        state
            .store
            .revoke_refresh_family(record.family_id, now)
            .await?;
        return Err(Aadsts::RefreshTokenReused.into());
    }
    if record.expires_at <= now {
        return Err(Aadsts::GrantExpired.into());
    }
    Ok(record)
}

fn rotation_failure(outcome: Rotation) -> Aadsts {
    match outcome {
        Rotation::Reused | Rotation::Rotated => Aadsts::RefreshTokenReused,
        Rotation::Revoked => Aadsts::GrantRevoked,
        Rotation::Expired => Aadsts::GrantExpired,
        Rotation::NotFound => Aadsts::GrantMalformed,
    }
}
