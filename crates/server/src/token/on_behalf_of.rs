//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with
//! `requested_token_use=on_behalf_of`: Azure AD's on-behalf-of flow (RFC
//! 7523's grant type, Azure AD's parameters).
//!
//! A middle-tier web API got a user's access token from its own client; to
//! call a downstream API as that user, it presents the token (`assertion`)
//! with its own client credentials, and gets a token to the downstream API
//! that keeps the user (`oid`, `upn`) with the downstream API's delegated
//! scopes. One app registration is both the API and the confidential client,
//! as in Azure AD: the caller's client id is the `app_id` of the API it
//! exposes, and the assertion must have been issued to that API (`aud`: its
//! App ID URI in v1 tokens, its `app_id` in v2 tokens).
//!
//! ```text
//! user ──token(aud = middle tier)──▶ middle tier ──assertion + secret──▶ /token
//!                                    middle tier ◀──token(aud = downstream, same user)──
//! ```
//!
//! The assertion is this server's own token coming back: it is verified
//! with the keys the server publishes (like `id_token_hint` at sign-out),
//! then its claims, in the order a developer fixes them: signature, issuer,
//! lifetime, kind (an ID token, an app-only token), audience. What the user
//! gets is decided as for the other delegated grants: the app's permission
//! on the downstream API, then the user's consent to the app
//! (`delegated_scopes`). An assertion is not spent: Azure AD lets a middle
//! tier exchange the same one again (MSAL caches per assertion), so two
//! exchanges at once both succeed, each a sign-in of its own (a refresh
//! token family each, when the app may refresh).

use latchkey_protocol::{Aadsts, Jws, TokenResponseV1};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Caller;
use super::issue::{UserSignIn, delegated_scopes, require_policy, resolve_api};
use super::request::Form;
use crate::ProtocolError;
use crate::scope::requested_scopes;
use crate::state::AppState;

/// How far an assertion's `nbf` may lie ahead of this server's clock: its
/// issuer may be a replica whose clock runs a little ahead. `exp` is
/// checked exactly, as Azure AD does.
const NOT_BEFORE_SKEW: i64 = 300;

/// What a verified assertion says of its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The user's object id (`oid`).
    pub oid: Uuid,
    /// The user's `upn`, when the token names one.
    pub upn: Option<String>,
    /// How the user signed in (`amr`: `pwd`, `mfa`); empty when the token
    /// does not say. The new token carries it on, so a policy that asks for
    /// a second factor can read it here.
    pub amr: Vec<String>,
}

pub async fn grant(
    state: &AppState,
    caller: &Caller<'_>,
    form: &Form,
) -> Result<TokenResponseV1, ProtocolError> {
    let token_use = form.require("requested_token_use")?;
    if token_use != "on_behalf_of" {
        return Err(Aadsts::RequestedTokenUseUnsupported {
            value: token_use.to_owned(),
        }
        .into());
    }
    let raw = form.require("assertion")?;
    let resource = form.require("resource")?;
    let api = resolve_api(state, caller, resource)?;
    // The app registration must list the downstream API among its
    // permissions: without one no consent can exist to ask for.
    if caller.app.permission_for(api).is_none() {
        let permitted: Vec<&str> = caller
            .app
            .permissions
            .iter()
            .map(|p| p.api.as_str())
            .collect();
        return Err(Aadsts::ResourceNotInPermissions {
            client: format!("{}({})", caller.app.client_id, caller.app.name).into(),
            resource: resource.into(),
            permitted: permitted.join(", ").into(),
        }
        .into());
    }
    let requested = requested_scopes(form.get("scope"), api)?;
    let assertion = verify(state, caller, raw)?;
    let user = state
        .store
        .find_user(caller.tenant.id, assertion.oid)
        .await?
        .ok_or_else(|| Aadsts::AssertionUserNotFound {
            user: assertion
                .upn
                .clone()
                .unwrap_or_else(|| assertion.oid.to_string()),
            tenant: caller.tenant_segment.to_owned(),
        })?;
    let auth_methods = assertion.amr.join(" ");
    // The downstream API's policy holds the assertion's sign-in to it: an
    // `amr` without `mfa` is the claims challenge the middle tier relays.
    require_policy(api, &user, &auth_methods, form)?;
    let scp = delegated_scopes(state, caller, &user, api, &requested.api).await?;

    let oidc_scope = requested.oidc.join(" ");
    let sign_in = UserSignIn {
        user: &user,
        api,
        scp,
        oidc_scope: &oidc_scope,
        // Each exchange starts a family of its own: the middle tier keeps
        // one per user and downstream API, and nothing links two exchanges.
        family: Uuid::new_v4(),
        nonce: None,
        auth_methods: &auth_methods,
        spa_origin: None,
    };
    sign_in.tokens(state, caller, caller.now).await
}

/// The assertion, verified as one of this server's access tokens, issued
/// for a user to the API the caller exposes, and current at the request's
/// time.
pub fn verify(
    state: &AppState,
    caller: &Caller<'_>,
    raw: &str,
) -> Result<Assertion, ProtocolError> {
    let token = Jws::parse(raw).ok_or(Aadsts::AssertionMalformed)?;

    // The signature first: nothing the claims say counts before it.
    let kid = token.header_str("kid").unwrap_or_default().to_owned();
    let key = state
        .published_keys()
        .into_iter()
        .find(|k| k.kid() == kid)
        .ok_or_else(|| Aadsts::AssertionKeyNotFound { kid: kid.clone() })?;
    // The alg must be the key's own (RS256 for an RSA key, ES256 for EC).
    let alg = token.header_str("alg").unwrap_or_default();
    if !key.verifies(alg, token.signed, &token.signature) {
        return Err(Aadsts::AssertionSignatureInvalid { kid }.into());
    }

    let claims = &token.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let issuer = text("iss").ok_or(Aadsts::AssertionMalformed)?;
    let tenant = caller.tenant.id;
    if text("tid") != Some(tenant.to_string().as_str())
        || (issuer != state.issuer(tenant) && issuer != state.issuer_v2(tenant))
    {
        return Err(Aadsts::AssertionIssuerMismatch {
            issuer: issuer.to_owned(),
        }
        .into());
    }

    let expires = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(Aadsts::AssertionMalformed)?;
    let valid_from = claims.get("nbf").and_then(Value::as_i64);
    let now = caller.now.unix_timestamp();
    if expires <= now || valid_from.is_some_and(|nbf| nbf > now + NOT_BEFORE_SKEW) {
        return Err(Aadsts::AssertionExpired {
            now: rfc3339(now).into(),
            valid_from: valid_from.map(rfc3339).unwrap_or_default().into(),
            expires: rfc3339(expires).into(),
        }
        .into());
    }

    // An access token names the client it was issued to (`appid` in v1,
    // `azp` in v2); an ID token does not.
    if text("appid").is_none() && text("azp").is_none() {
        return Err(Aadsts::IdTokenAssertion.into());
    }

    let audience = text("aud").ok_or(Aadsts::AssertionMalformed)?;
    let exposed = state
        .directory
        .api_by_app_id(&caller.app.client_id.to_string())
        .filter(|api| api.tenant_id == tenant);
    if !exposed.is_some_and(|api| api.named_by(audience)) {
        return Err(Aadsts::AssertionAudienceMismatch {
            audience: audience.into(),
            client_id: caller.app.client_id.to_string().into(),
            app_name: caller.app.name.as_str().into(),
        }
        .into());
    }

    // Delegated tokens carry `scp`; a client-credentials token speaks for
    // no user, and on-behalf-of works for users only.
    if text("scp").is_none() {
        return Err(Aadsts::AppOnlyAssertion {
            client_id: caller.app.client_id.to_string(),
        }
        .into());
    }
    let oid = text("oid")
        .and_then(|oid| Uuid::try_parse(oid).ok())
        .ok_or(Aadsts::AssertionMalformed)?;
    let amr = match claims.get("amr") {
        None => Vec::new(),
        Some(Value::Array(methods)) => methods
            .iter()
            .map(|m| m.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(Aadsts::AssertionMalformed)?,
        Some(_) => return Err(Aadsts::AssertionMalformed.into()),
    };
    Ok(Assertion {
        oid,
        upn: text("upn").map(str::to_owned),
        amr,
    })
}

/// Unix seconds as RFC 3339 (`2024-05-01T12:00:00Z`), for messages.
fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc3339() {
        assert_eq!(rfc3339(1_714_564_800), "2024-05-01T12:00:00Z");
    }
}
