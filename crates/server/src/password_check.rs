//! Checking a user's password: the one path the sign-in page and the
//! password grant share.

use uuid::Uuid;

use crate::ProtocolError;
use crate::directory::User;
use crate::secrets::verify_password;
use crate::state::AppState;

/// The user of `tenant` named `upn`, if `password` is theirs. An unknown
/// user costs the same Argon2 verification as a wrong password, so the
/// answer's timing does not tell which user names exist.
pub async fn user_with_password(
    state: &AppState,
    tenant: Uuid,
    upn: &str,
    password: String,
) -> Result<Option<User>, ProtocolError> {
    let user = state.store.find_user_by_upn(tenant, upn).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    // Argon2 takes tens of milliseconds: off the async workers.
    let verified =
        tokio::task::spawn_blocking(move || verify_password(&password, stored_hash.as_deref()))
            .await
            .map_err(ProtocolError::internal)?;
    Ok(user.filter(|_| verified))
}
