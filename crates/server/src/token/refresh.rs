//! `grant_type=refresh_token` (RFC 6749 §6) with rotation: every refresh
//! returns a new refresh token and retires the old one. Presenting a
//! retired token again means it leaked, so its whole family is revoked
//! (RFC 9700 §4.14.2) — unless it comes back within the tenant's
//! `refresh_token_reuse_seconds` of its rotation: two tabs (or a retry
//! after a lost response) refreshing at once each get a successor, and
//! each successor keeps working. 0 is strict rotation. The store decides,
//! in the rotation's one statement, so replicas agree.
//!
//! A single-page application's token is redeemed only from its page's
//! origin (`cross_origin`), and its family ends `spa_refresh_lifetime`
//! (24 hours) after the sign-in, however often it is refreshed.
//!
//! A refresh token carries how its sign-in went (`amr`: its tokens carry
//! it, and an API whose policy needs a second factor refuses a password-only
//! family with `interaction_required` and the claims to ask for it), and
//! what its sign-in granted: a refresh for the
//! sign-in's resource gets at most those scopes (narrowing allowed, RFC
//! 6749 §6), and no token of a family outlives the sign-in by more than the
//! family lifetime. Like Azure AD's multi-resource refresh tokens, a
//! refresh may name another `resource`; the user's consent for that
//! resource decides.

use latchkey_protocol::{Aadsts, TokenResponseV1, same_resource};

use super::cross_origin::check_origin;
use super::issue::{
    FamilyGrant, IdTokenFor, Subject, access_token, client_info, consented_scopes, has_openid,
    id_token, new_refresh_token, require_policy, resolve_api, v1_response,
};
use super::request::Form;
use super::{Caller, Forced};
use crate::ProtocolError;
use crate::directory::Api;
use crate::scope::requested_scopes;
use crate::secrets::Digest;
use crate::state::AppState;
use crate::store::{RefreshGrant, RefreshTokenRecord, Rotation};
use crate::telemetry;

pub async fn grant(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
    forced: Forced,
) -> Result<TokenResponseV1, ProtocolError> {
    let presented = Digest::of(form.require("refresh_token")?);
    let now = caller.now;
    let RefreshGrant {
        token: record,
        user,
        consents,
    } = current_grant(state, caller, &presented, now.unix_timestamp()).await?;
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
    let asked = within_grant(&record, api, requested.api)?;
    let user = user.ok_or(Aadsts::GrantRevoked)?;
    // The family keeps how its sign-in went: a password-only sign-in
    // cannot refresh its way into an API that needs a second factor. Before
    // the rotation, so the refusal spends nothing; and before consent, as
    // at the password grant: the interactive sign-in it asks for can give
    // consent too.
    require_policy(api, &user, &record.auth_methods, form)?;
    let scp = consented_scopes(caller, &user, api, &asked, &consents)?;

    let family = FamilyGrant {
        family: record.family_id,
        resource: &record.resource,
        granted_scope: &record.granted_scope,
        oidc_scope: &record.scope,
        expires_at: record.family_expires_at,
        spa_origin: record.spa_origin.as_deref(),
        auth_methods: &record.auth_methods,
    };
    let (token, successor) = new_refresh_token(state, caller, &user, &family, now)?;
    let rotation = state.store.rotate_refresh_token(
        &presented,
        &successor,
        now.unix_timestamp(),
        i64::from(caller.tenant.refresh_token_reuse_seconds),
    );
    match telemetry::store("rotate_refresh_token", rotation).await? {
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
            auth_methods: &record.auth_methods,
        },
        now,
    )?;
    let mut response = v1_response(api, issued, now, Some(scp), Some(token));
    response.client_info = Some(client_info(&user));
    // As Azure AD does (and MSAL needs: it files the refreshed tokens
    // under the account the ID token names), a sign-in that asked for
    // `openid` gets an ID token at every refresh too.
    if has_openid(&record.scope) {
        let occasion = IdTokenFor::Refresh {
            auth_methods: &record.auth_methods,
        };
        response.id_token = Some(id_token(state, caller, &user, occasion, now)?);
    }
    Ok(response)
}

/// The presented token's record (with its user and their consents), if it
/// is this client's and still current. A retired one revokes its family.
async fn current_grant(
    state: &AppState,
    caller: &Caller<'_>,
    presented: &Digest,
    now: i64,
) -> Result<RefreshGrant, ProtocolError> {
    let grant = telemetry::store(
        "find_refresh_grant",
        state.store.find_refresh_grant(presented),
    )
    .await?
    .ok_or(Aadsts::GrantMalformed)?;
    let record = &grant.token;
    if record.tenant_id != caller.tenant.id {
        return Err(Aadsts::GrantMalformed.into());
    }
    if record.client_id != caller.app.client_id {
        return Err(Aadsts::GrantClientMismatch.into());
    }
    // Before the reuse check: a request from the wrong side of the browser
    // changes nothing.
    check_origin(record.spa_origin.as_deref(), caller.origin)?;
    if record.revoked_at.is_some() {
        return Err(Aadsts::GrantRevoked.into());
    }
    let reuse_seconds = i64::from(caller.tenant.refresh_token_reuse_seconds);
    match record.used_at {
        // Rotated out just now (another tab): answered, not revoked. The
        // rotation's statement decides again, atomically, at this time.
        Some(used_at) if reuse_seconds > 0 && used_at > now - reuse_seconds => {}
        Some(_) => {
            state
                .store
                .revoke_refresh_family(record.family_id, now)
                .await?;
            return Err(Aadsts::RefreshTokenReused.into());
        }
        None => {}
    }
    if record.family_expires_at <= now {
        return Err(family_expired(state, record).into());
    }
    if record.expires_at <= now {
        return Err(Aadsts::GrantExpired.into());
    }
    Ok(grant)
}

/// The scopes to ask consent for: on the sign-in's own resource, what was
/// asked if the sign-in granted all of it (everything it granted if nothing
/// was asked); on another resource, what was asked (consent decides).
fn within_grant(
    record: &RefreshTokenRecord,
    api: &Api,
    requested: Vec<String>,
) -> Result<Vec<String>, ProtocolError> {
    // A token stored before grants were kept has none to bound it.
    if !same_resource(&record.resource, &api.app_id_uri) || record.granted_scope.is_empty() {
        return Ok(requested);
    }
    let granted: Vec<String> = record
        .granted_scope
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if requested.is_empty() {
        return Ok(granted);
    }
    if let Some(beyond) = requested.iter().find(|s| !granted.contains(s)) {
        return Err(Aadsts::ScopeNotGranted {
            scope: beyond.clone(),
        }
        .into());
    }
    Ok(requested)
}

/// The family outlived its sign-in: an SPA's says when it was issued, as
/// Azure AD's does.
fn family_expired(state: &AppState, record: &RefreshTokenRecord) -> Aadsts {
    if record.spa_origin.is_none() {
        let lifetime_days = state.config.refresh_family_lifetime.as_secs() / 86_400;
        return Aadsts::RefreshFamilyExpired { lifetime_days };
    }
    let lifetime = state
        .config
        .spa_refresh_lifetime
        .min(state.config.refresh_family_lifetime);
    let signed_in = record.family_expires_at - lifetime.as_secs() as i64;
    let issued_on = time::OffsetDateTime::from_unix_timestamp(signed_in)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Aadsts::SpaRefreshTokenExpired { issued_on }
}

fn rotation_failure(outcome: Rotation) -> Aadsts {
    match outcome {
        Rotation::Reused | Rotation::Rotated => Aadsts::RefreshTokenReused,
        Rotation::Revoked => Aadsts::GrantRevoked,
        Rotation::Expired => Aadsts::GrantExpired,
        Rotation::NotFound => Aadsts::GrantMalformed,
    }
}
