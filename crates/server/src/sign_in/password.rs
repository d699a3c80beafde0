//! A user's password checked: refused unhashed when the name is locked or
//! the client is over its rate; otherwise one Argon2id verification (an
//! unknown user costing the same, so timing does not tell which names
//! exist), at most `max_concurrent_password_hashes` at once.

use uuid::Uuid;

use super::{Checked, begin_attempt, lockout_key, refund_attempt};
use crate::ProtocolError;
use crate::context::RequestContext;
use crate::directory::User;
use crate::secrets::verify_password;
use crate::state::AppState;

/// The user of `tenant` named `upn`, if `password` is theirs. A pass is
/// not yet a completed sign-in: the caller calls `sign_in::completed` once
/// every step (the second factor) is done.
pub async fn check_password(
    state: &AppState,
    ctx: &RequestContext,
    tenant: Uuid,
    upn: &str,
    password: String,
) -> Result<Checked<User>, ProtocolError> {
    if let Err(retry_after) = state.sign_in_limits.admit(ctx.client_ip) {
        return Ok(Checked::Throttled { retry_after });
    }
    let key = lockout_key(upn);
    if !begin_attempt(state, tenant, &key, ctx.unix_now()).await? {
        return Ok(Checked::Locked);
    }
    let user = state.store.find_user_by_upn(tenant, upn).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = {
        // The permit bounds the hashes' memory (19 MiB each); past a short
        // queue, the check is refused rather than left waiting with an
        // in-flight permit that well-behaved requests need.
        let Some(_permit) = state.sign_in_limits.hash_permit().await? else {
            refund_attempt(state, tenant, &key).await?;
            return Ok(Checked::Throttled { retry_after: 1 });
        };
        // Argon2 takes tens of milliseconds: off the async workers.
        tokio::task::spawn_blocking(move || verify_password(&password, stored_hash.as_deref()))
            .await
            .map_err(ProtocolError::internal)?
    };
    match user.filter(|_| verified) {
        Some(user) => {
            refund_attempt(state, tenant, &key).await?;
            Ok(Checked::Passed(user))
        }
        None => Ok(Checked::Failed),
    }
}
