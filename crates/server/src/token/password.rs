//! `grant_type=password` (RFC 6749 §4.3): the user's delegated scopes, if
//! the user signs in with a password alone and has consented.

use latchkey_protocol::{Aadsts, TokenResponseV1};
use uuid::Uuid;

use super::issue::{UserSignIn, delegated_scopes, resolve_api};
use super::request::Form;
use super::{Caller, Forced};
use crate::ProtocolError;
use crate::password_check::user_with_password;
use crate::scope::requested_scopes;
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

    let user = user_with_password(state, caller.tenant.id, username, password)
        .await?
        .ok_or(Aadsts::InvalidUsernameOrPassword)?;
    if user.requires_second_factor() || forced == Forced::SecondFactor {
        // A password alone is not enough: the user must sign in
        // interactively, where the second factor is asked for.
        return Err(Aadsts::MfaRequired {
            resource: api.app_id_uri.clone(),
        }
        .into());
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
        auth_methods: "pwd",
    };
    sign_in.tokens(state, caller, caller.now).await
}
