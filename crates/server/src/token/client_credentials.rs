//! `grant_type=client_credentials` (RFC 6749 §4.4): an app-only token whose
//! `roles` are the application roles an administrator granted on the API.

use latchkey_protocol::TokenResponseV1;

use super::Caller;
use super::issue::{Subject, access_token, resolve_api, v1_response};
use super::request::Form;
use crate::ProtocolError;
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
) -> Result<TokenResponseV1, ProtocolError> {
    let api = resolve_api(state, caller, form.require("resource")?)?;
    let roles = caller
        .app
        .permission_for(api)
        .map(|p| {
            p.roles
                .iter()
                .filter(|r| api.roles.contains(r))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let now = caller.now;
    let issued = access_token(state, caller, api, &Subject::App { roles }, now)?;
    Ok(v1_response(api, issued, now, None, None))
}
