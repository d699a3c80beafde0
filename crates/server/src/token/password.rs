//! `grant_type=password` (RFC 6749 §4.3): the user's delegated scopes, if
//! the user signs in with a password alone and has consented, for an API
//! whose policy a password alone satisfies.

use latchkey_protocol::{Aadsts, TokenResponseV1};
use uuid::Uuid;

use super::issue::{UserSignIn, delegated_scopes, require_policy, resolve_api};
use super::request::Form;
use super::{Caller, Forced};
use crate::ProtocolError;
use crate::scope::requested_scopes;
use crate::sign_in::{self, Checked, check_password};
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
    forced: Forced,
) -> Result<TokenResponseV1, ProtocolError> {
    let username = form.require("username")?;
    let password = form.require("password")?.to_owned();
    let resource = form.require("resource")?;
    let api = resolve_api(state, caller, resource)?;
    let requested = requested_scopes(form.get("scope"), api)?;

    // Until the password is verified every refusal reads the same (see
    // `sign_in`): what follows it may then be told.
    let user = match check_password(state, caller.ctx, caller.tenant.id, username, password).await?
    {
        Checked::Passed(user) => user,
        Checked::Failed => return Err(Aadsts::InvalidUsernameOrPassword.into()),
        Checked::Locked => return Err(Aadsts::AccountLocked.into()),
        Checked::Throttled { retry_after } => {
            return Err(ProtocolError::new(Aadsts::SignInRateLimited).with_retry_after(retry_after));
        }
    };
    if user.requires_second_factor() || forced == Forced::SecondFactor {
        // A password alone is not enough: the user must sign in
        // interactively, where the second factor is asked for. The sign-in
        // is not complete, so its failures still count.
        return Err(Aadsts::MfaRequired {
            resource: api.app_id_uri.clone(),
        }
        .into());
    }
    // A password is all this grant can show: an API that needs a second
    // factor (`require_mfa`, or the request's `claims`) sends the client to
    // the authorization endpoint with the claims to ask for it.
    require_policy(api, &user, PASSWORD_ONLY, form)?;
    // A user with a second factor completes a sign-in only with it, even
    // where a password alone is let in (as on the sign-in page).
    if !user.has_second_factor() {
        sign_in::completed(state, caller.tenant.id, &user.upn).await?;
    }
    let scp = delegated_scopes(state, caller, &user, api, &requested.api).await?;

    let oidc_scope = requested.oidc.join(" ");
    let sign_in = UserSignIn {
        user: &user,
        api,
        scp,
        oidc_scope: &oidc_scope,
        family: Uuid::new_v4(),
        nonce: None,
        auth_methods: PASSWORD_ONLY,
        spa_origin: None,
    };
    sign_in.tokens(state, caller, caller.now).await
}

/// How a password grant's sign-in went: the `amr` of its tokens.
const PASSWORD_ONLY: &str = "pwd";
