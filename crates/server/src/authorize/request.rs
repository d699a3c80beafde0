//! Validating an authorization request once its target is trusted
//! (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect `prompt` and `claims`):
//! every failure here goes back to the client.

use latchkey_protocol::{Aadsts, ClaimsRequest, GrantType, Version};

use super::params::Params;
use super::target::Target;
use crate::directory::Api;
use crate::scope::{permitted_scopes, requested_scopes, v2_scope};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Default,
    Login,
    Consent,
    None,
}

/// A validated authorization request.
pub struct Request<'a> {
    pub api: &'a Api,
    /// The API scopes asked for (all the app's permitted ones when none are named).
    pub scopes: Vec<String>,
    pub oidc: Vec<String>,
    pub challenge: Option<String>,
    pub prompt: Prompt,
    pub nonce: Option<String>,
    pub login_hint: Option<String>,
    /// Whether a second factor is needed for this request, whoever signs
    /// in: the API's policy (`require_mfa`), or a `claims` request asking
    /// for `mfa` (a claims challenge passed back).
    pub mfa_asked: bool,
}

pub fn validate<'a>(
    state: &'a AppState,
    target: &Target<'a>,
    params: &Params,
) -> Result<Request<'a>, Aadsts> {
    if let Some(error) = &target.mode_error {
        return Err(error.clone());
    }
    match params.get("response_type")? {
        None => {
            return Err(Aadsts::MissingParameter {
                name: "response_type",
            });
        }
        Some("code") => {}
        Some(other) => {
            return Err(Aadsts::UnsupportedResponseType {
                response_type: other.to_owned(),
            });
        }
    }
    if !target.app.allows(GrantType::AuthorizationCode) {
        return Err(Aadsts::GrantTypeNotAllowed {
            client_id: target.app.client_id.to_string(),
            grant_type: GrantType::AuthorizationCode.as_str().to_owned(),
        });
    }
    let (api, scope) = api_and_scope(state, target, params)?;
    let requested = requested_scopes(scope.as_deref(), api)?;
    let scopes = permitted_scopes(target.app, api, requested.api)?;
    let claims = params
        .get("claims")?
        .map(ClaimsRequest::parse)
        .transpose()
        .map_err(|_| Aadsts::MalformedClaims)?;
    let asks_for_mfa = claims.is_some_and(|claims| {
        claims.asks_for_mfa(|id| state.directory.is_mfa_policy(target.tenant.id, id))
    });
    Ok(Request {
        api,
        scopes,
        oidc: requested.oidc,
        challenge: pkce_challenge(target, params)?,
        prompt: prompt(params)?,
        nonce: params.first("nonce").map(str::to_owned),
        login_hint: params.first("login_hint").map(str::to_owned),
        mfa_asked: api.require_mfa || asks_for_mfa,
    })
}

/// The API asked for and the scopes on it: `resource` and `scope` in
/// v1, both in `scope` in v2.0.
fn api_and_scope<'a>(
    state: &'a AppState,
    target: &Target<'_>,
    params: &Params,
) -> Result<(&'a Api, Option<String>), Aadsts> {
    if target.version == Version::V2 {
        let scope = params
            .get("scope")?
            .ok_or(Aadsts::MissingParameter { name: "scope" })?;
        let (api, names) = v2_scope(
            &state.directory,
            target.tenant,
            target.tenant_segment,
            scope,
        )?;
        return Ok((api, Some(names)));
    }
    let resource = params
        .get("resource")?
        .ok_or(Aadsts::MissingParameter { name: "resource" })?;
    let api = state
        .directory
        .api(target.tenant.id, resource)
        .ok_or_else(|| Aadsts::ResourceNotFound {
            resource: resource.to_owned(),
            tenant: target.tenant_segment.to_owned(),
        })?;
    Ok((api, params.get("scope")?.map(str::to_owned)))
}

/// RFC 7636 §4.3: S256 only; required of public clients, and of every
/// code for a single-page application's redirect URI (redeemed without a
/// secret, from a browser).
fn pkce_challenge(target: &Target<'_>, params: &Params) -> Result<Option<String>, Aadsts> {
    match (
        params.get("code_challenge")?,
        params.get("code_challenge_method")?,
    ) {
        (None, None) if target.spa_origin.is_some() => Err(Aadsts::SpaPkceRequired),
        (None, None) if target.app.is_confidential() => Ok(None),
        (None, None) => Err(Aadsts::PkceRequired),
        (None, Some(_)) => Err(Aadsts::MissingParameter {
            name: "code_challenge",
        }),
        // No method means "plain", which is refused.
        (Some(challenge), method) => {
            let method = method.unwrap_or("plain");
            if method != "S256" {
                return Err(Aadsts::PkceMethodNotSupported {
                    method: method.to_owned(),
                });
            }
            if !(43..=128).contains(&challenge.len())
                || !challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            {
                return Err(Aadsts::MalformedCodeChallenge);
            }
            Ok(Some(challenge.to_owned()))
        }
    }
}

fn prompt(params: &Params) -> Result<Prompt, Aadsts> {
    match params.get("prompt")? {
        None | Some("select_account") => Ok(Prompt::Default),
        Some("login") => Ok(Prompt::Login),
        Some("consent") => Ok(Prompt::Consent),
        Some("none") => Ok(Prompt::None),
        Some(other) => Err(Aadsts::UnsupportedPrompt {
            prompt: other.to_owned(),
        }),
    }
}
