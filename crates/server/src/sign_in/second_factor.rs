//! The second factor: a TOTP code, refused unchecked when the user name is
//! locked out, counted toward the lockout when wrong, and accepted once
//! (RFC 6238 §5.2: the time step it matched is remembered in the store, so
//! neither a replay nor an older code passes again, on any replica).

use super::{Checked, begin_attempt, lockout_key};
use crate::ProtocolError;
use crate::context::RequestContext;
use crate::directory::User;
use crate::secrets::totp_step;
use crate::state::AppState;

pub async fn check_second_factor(
    state: &AppState,
    ctx: &RequestContext,
    user: &User,
    code: &str,
) -> Result<Checked<()>, ProtocolError> {
    let key = lockout_key(&user.upn);
    let now = ctx.unix_now();
    // Counted before the check: concurrent guesses cannot outrun the
    // lockout. A right code completes the sign-in, which resets the count.
    if !begin_attempt(state, user.tenant_id, &key, now).await? {
        return Ok(Checked::Locked);
    }
    let at = u64::try_from(now).unwrap_or_default();
    let fresh = match totp_step(user.totp_secret.as_deref(), code, at) {
        Some(step) => {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            state
                .store
                .use_totp_step(user.tenant_id, &key, step)
                .await?
        }
        None => false,
    };
    Ok(if fresh {
        Checked::Passed(())
    } else {
        Checked::Failed
    })
}
