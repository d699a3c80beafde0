//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! Every check that does not consume the code comes first, so a client
//! that gets a parameter wrong (or a thief without the verifier) cannot burn
//! the legitimate client's code (a code for a single-page application is
//! redeemed only cross-origin, from its redirect URI's origin, and a web
//! app's never cross-origin: `cross_origin`); then one transaction redeems it and stores
//! the first refresh token of its family. A code presented again revokes
//! the refresh tokens its first redemption started.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_protocol::{Aadsts, TokenResponseV1};
use uuid::Uuid;

use super::Caller;
use super::cross_origin::check_origin;
use super::issue::{UserSignIn, require_policy, resolve_api};
use super::request::Form;
use crate::ProtocolError;
use crate::secrets::Digest;
use crate::state::AppState;
use crate::store::{AuthCodeRecord, CodeGrant};
use crate::telemetry;

pub async fn grant(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
) -> Result<TokenResponseV1, ProtocolError> {
    let code = Digest::of(form.require("code")?);
    let redirect_uri = form.require("redirect_uri")?;
    let now = caller.now;
    let CodeGrant { code: record, user } =
        telemetry::store("find_code_grant", state.store.find_code_grant(&code))
            .await?
            .ok_or(Aadsts::GrantMalformed)?;
    check_code(
        state,
        caller,
        &record,
        redirect_uri,
        form.get("code_verifier"),
        now.unix_timestamp(),
    )
    .await?;

    let user = user.ok_or(Aadsts::GrantRevoked)?;
    let api = resolve_api(state, caller, &record.resource)?;
    // The authorization endpoint asked for what the policy needs, so a
    // code for such an API has it; the redemption's own `claims` may ask
    // for more. Before the redemption: a refusal spends nothing.
    require_policy(api, &user, &record.auth_methods, form)?;
    let family = Uuid::new_v4();
    let sign_in = UserSignIn {
        user: &user,
        api,
        scp: record.scope.clone(),
        oidc_scope: &record.oidc_scope,
        family,
        nonce: record.nonce.as_deref(),
        auth_methods: &record.auth_methods,
        spa_origin: record.spa_origin.as_deref(),
    };
    // Signed before the redemption is decided (a lost race wastes one
    // signature), so that redeeming the code and storing the family's first
    // refresh token are one transaction.
    let (response, refresh) = sign_in.prepare(state, caller, now)?;
    if !telemetry::store(
        "redeem_code",
        state
            .store
            .redeem_code(&code, family, now.unix_timestamp(), refresh.as_ref()),
    )
    .await?
    {
        // Lost a race with another redemption: the same as a replay.
        return Err(replayed(state, &code, now.unix_timestamp()).await);
    }
    Ok(response)
}

/// Everything the token request must repeat from the authorization request.
async fn check_code(
    state: &AppState,
    caller: &Caller<'_>,
    record: &AuthCodeRecord,
    redirect_uri: &str,
    verifier: Option<&str>,
    now: i64,
) -> Result<(), ProtocolError> {
    if record.tenant_id != caller.tenant.id {
        return Err(Aadsts::GrantMalformed.into());
    }
    // Before the replay check: only the code's own (authenticated) client
    // may revoke the tokens of its first redemption. Another client, a
    // public one authenticating with nothing, learns only that it is not
    // its code.
    if record.client_id != caller.app.client_id {
        return Err(Aadsts::GrantClientMismatch.into());
    }
    // Before the replay check too: a request from the wrong side of the
    // browser changes nothing.
    check_origin(record.spa_origin.as_deref(), caller.origin)?;
    if record.redeemed_at.is_some() {
        return Err(replayed(state, &record.digest, now).await);
    }
    if record.expires_at <= now {
        return Err(Aadsts::GrantExpired.into());
    }
    if record.redirect_uri != redirect_uri {
        return Err(Aadsts::CodeRedirectUriMismatch.into());
    }
    match (&record.code_challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(Aadsts::CodeVerifierUnexpected.into()),
        (Some(_), None) => Err(Aadsts::CodeVerifierMissing.into()),
        (Some(challenge), Some(verifier)) if s256(verifier) == *challenge => Ok(()),
        (Some(_), Some(_)) => Err(Aadsts::CodeVerifierMismatch.into()),
    }
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(ASCII(code_verifier)))`.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// A code presented a second time: whoever redeemed it first may be a
/// thief, so the refresh tokens of that redemption are revoked.
async fn replayed(state: &AppState, code: &Digest, now: i64) -> ProtocolError {
    match state.store.find_code(code).await {
        Ok(Some(AuthCodeRecord {
            family_id: Some(family),
            ..
        })) => {
            if let Err(err) = state.store.revoke_refresh_family(family, now).await {
                return ProtocolError::internal(err);
            }
        }
        Ok(_) => {}
        Err(err) => return ProtocolError::internal(err),
    }
    Aadsts::CodeRedeemed.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
