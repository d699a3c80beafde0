//! A person's credentials checked: the password and the second factor,
//! behind the user name's lockout (Azure AD's Smart Lockout, counted in the
//! store so replicas agree) and the limits on password hashing (per client
//! IP, and at once). The one path the sign-in pages and the password grant
//! share, so both lock, throttle and answer alike.
//!
//! What an answer may tell someone who does not know the password: nothing
//! beyond "wrong" until the password is verified. A locked name is refused
//! before any hash is computed, so the lockout neither confirms nor denies
//! the password. Only a verified password reaches what follows (the second
//! factor, consent), whose answers (50076, 65001) then tell the caller no
//! more than they proved; and failures count toward the lockout whichever
//! step they fail, so a password-holder cannot reset the count between
//! guesses at the second factor: only a completed sign-in resets it.

mod limits;
mod password;
mod second_factor;

use uuid::Uuid;

pub use limits::SignInLimits;
pub use password::check_password;
pub use second_factor::check_second_factor;

use crate::ProtocolError;
use crate::state::AppState;

/// What a check of a credential found.
#[derive(Debug)]
pub enum Checked<T> {
    /// The credential is right.
    Passed(T),
    /// Wrong (or, for a password, an unknown user): counted toward the lockout.
    Failed,
    /// The user name is locked out; nothing was checked.
    Locked,
    /// This client IP address started too many password checks: try again
    /// after this many seconds. Nothing was checked or counted.
    Throttled { retry_after: u32 },
}

/// The user name as the lockout counts it.
fn lockout_key(upn: &str) -> String {
    upn.trim().to_lowercase()
}

/// A sign-in completed (password, and the second factor if the user has
/// one): the user name's failures and lockouts are forgotten.
pub async fn completed(state: &AppState, tenant: Uuid, upn: &str) -> Result<(), ProtocolError> {
    Ok(state
        .store
        .record_sign_in_success(tenant, &lockout_key(upn))
        .await?)
}

/// Counts an attempt before its credential is checked (see
/// `Store::begin_sign_in_attempt`): `false` when the name is locked out,
/// and nothing may be checked.
async fn begin_attempt(
    state: &AppState,
    tenant: Uuid,
    key: &str,
    now: i64,
) -> Result<bool, ProtocolError> {
    let policy = state
        .directory
        .tenant(tenant)
        .map(|t| t.lockout)
        .unwrap_or_default();
    let Some(until) = state
        .store
        .begin_sign_in_attempt(tenant, key, now, policy)
        .await?
    else {
        return Ok(false);
    };
    if until > now {
        tracing::warn!(
            %tenant,
            locked_for_seconds = until - now,
            "a user name is locked out after repeated failed sign-ins"
        );
    }
    Ok(true)
}

/// The attempt's credential was right: it does not count as a failure.
async fn refund_attempt(state: &AppState, tenant: Uuid, key: &str) -> Result<(), ProtocolError> {
    Ok(state.store.refund_sign_in_attempt(tenant, key).await?)
}
