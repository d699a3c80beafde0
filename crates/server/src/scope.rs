//! The `scope` parameter, as the token and authorize endpoints read it:
//! OpenID Connect scopes apart from the API's own, and v2.0 scopes that
//! name their API (`https://api.example/Files.Read`, `api://x/.default`).

use latchkey_protocol::{Aadsts, same_resource};

use crate::directory::{Api, App, Directory, Tenant};

/// OpenID Connect scopes: about the sign-in, not about the resource.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The scopes asked for, each permitted to the app; none asked for means
/// every permitted one (v1 static consent). The authorize endpoint and the
/// device authorization endpoint ask the same.
pub fn permitted_scopes(
    app: &App,
    api: &Api,
    requested: Vec<String>,
) -> Result<Vec<String>, Aadsts> {
    let permitted: Vec<String> = app
        .permission_for(api)
        .map(|p| p.scopes.clone())
        .unwrap_or_default();
    if let Some(scope) = requested.iter().find(|s| !permitted.contains(s)) {
        return Err(Aadsts::InvalidScope {
            scope: scope.clone(),
        });
    }
    let scopes = if requested.is_empty() {
        permitted
    } else {
        requested
    };
    if scopes.is_empty() {
        return Err(Aadsts::InvalidScope {
            scope: api.app_id_uri.clone(),
        });
    }
    Ok(scopes)
}

/// The `scope` parameter split into OpenID Connect scopes and the API's own
/// scopes; a value that is neither is `invalid_scope`. An API scope may be
/// written bare (`Files.Read`) or qualified (`https://api.example/Files.Read`).
pub struct RequestedScopes {
    pub oidc: Vec<String>,
    pub api: Vec<String>,
}

pub fn requested_scopes(scope: Option<&str>, api: &Api) -> Result<RequestedScopes, Aadsts> {
    let mut requested = RequestedScopes {
        oidc: Vec::new(),
        api: Vec::new(),
    };
    for value in scope.unwrap_or_default().split_whitespace() {
        if OIDC_SCOPES.contains(&value) {
            requested.oidc.push(value.to_owned());
            continue;
        }
        let bare = value
            .strip_prefix(api.app_id_uri.as_str())
            .or_else(|| {
                value
                    .strip_prefix(api.app_id_uri.trim_end_matches('/'))
                    .and_then(|s| s.strip_prefix('/'))
            })
            .or_else(|| {
                // `{app_id}/Files.Read`, `api://{app_id}/Files.Read`.
                value
                    .rsplit_once('/')
                    .filter(|(prefix, _)| api.app_id.is_some() && api.named_by(prefix))
                    .map(|(_, name)| name)
            })
            .unwrap_or(value);
        if !api.scopes.iter().any(|s| s == bare) {
            return Err(Aadsts::InvalidScope {
                scope: value.to_owned(),
            });
        }
        requested.api.push(bare.to_owned());
    }
    Ok(requested)
}

/// A v2.0 `scope` (`api://files/Files.Read openid`, `https://api/.default`)
/// as the v1 pair it stands for: the one API it names, and the scope names
/// (`.default` dropped: no names means all that were granted).
pub fn v2_scope<'s>(
    directory: &'s Directory,
    tenant: &Tenant,
    tenant_segment: &str,
    scope: &str,
) -> Result<(&'s Api, String), Aadsts> {
    let mut api: Option<&Api> = None;
    let mut names = Vec::new();
    for value in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&value) {
            names.push(value);
            continue;
        }
        let (prefix, name) = value.rsplit_once('/').ok_or_else(|| Aadsts::InvalidScope {
            scope: value.to_owned(),
        })?;
        let found = directory
            .api(tenant.id, prefix)
            .ok_or_else(|| Aadsts::ResourceNotFound {
                resource: prefix.to_owned(),
                tenant: tenant_segment.to_owned(),
            })?;
        if api.is_some_and(|seen| seen.app_id_uri != found.app_id_uri) {
            return Err(Aadsts::InvalidScope {
                scope: scope.to_owned(),
            });
        }
        api = Some(found);
        if name != ".default" {
            names.push(name);
        }
    }
    let api = api.ok_or_else(|| Aadsts::InvalidScope {
        scope: scope.to_owned(),
    })?;
    Ok((api, names.join(" ")))
}

/// The `scope` of a v2.0 token response, written as Azure AD writes it:
/// each granted API scope (`scp`, bare) qualified by the API's identifier
/// as the request wrote it (`https://files.contoso.example/Files.Read`),
/// `{identifier}/.default` too when that was asked, then the OpenID Connect
/// scopes asked (`offline_access` only with a refresh token). MSAL files
/// the access token under this string and looks it up by the scopes it
/// asked for (msal-node and msal-browser case-insensitively, OpenID
/// scopes aside; MSAL Python exactly), so only this form is a cache hit.
/// Without a `scope` in the request (a code or refresh token redeemed the
/// RFC 6749 way), the identifier is the API's App ID URI. `alias` tells
/// whether a prefix names the same API another way (its `app_id`).
pub fn v2_response_scope(
    scp: &str,
    resource: &str,
    requested: Option<&str>,
    with_refresh_token: bool,
    alias: &dyn Fn(&str) -> bool,
) -> String {
    let requested: Vec<&str> = requested.unwrap_or_default().split_whitespace().collect();
    let named = |value: &'_ str, resource: &str| -> Option<(String, String)> {
        value
            .rsplit_once('/')
            .filter(|(prefix, _)| same_resource(prefix, resource) || alias(prefix))
            .map(|(prefix, name)| (prefix.to_owned(), name.to_owned()))
    };
    let prefix = requested
        .iter()
        .filter(|v| !OIDC_SCOPES.contains(v))
        .find_map(|v| named(v, resource).map(|(prefix, _)| prefix))
        .unwrap_or_else(|| resource.trim_end_matches('/').to_owned());
    let mut scopes: Vec<String> = scp
        .split_whitespace()
        .map(|name| format!("{prefix}/{name}"))
        .collect();
    if requested
        .iter()
        .any(|v| named(v, resource).is_some_and(|(_, name)| name == ".default"))
    {
        scopes.push(format!("{prefix}/.default"));
    }
    for oidc in requested.iter().filter(|v| OIDC_SCOPES.contains(v)) {
        let granted = *oidc != "offline_access" || with_refresh_token;
        if granted && !scopes.iter().any(|s| s == oidc) {
            scopes.push((*oidc).to_owned());
        }
    }
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn api() -> Api {
        Api {
            tenant_id: Uuid::nil(),
            name: "Files".into(),
            app_id_uri: "https://files.contoso.example/".into(),
            scopes: vec!["Files.Read".into(), "Files.Write".into()],
            roles: vec![],
            app_id: None,
            access_token_version: None,
            require_mfa: false,
        }
    }

    #[test]
    fn scopes_may_be_bare_or_qualified() {
        let got = requested_scopes(
            Some("openid https://files.contoso.example/Files.Read Files.Write"),
            &api(),
        )
        .unwrap();
        assert_eq!(got.oidc, ["openid"]);
        assert_eq!(got.api, ["Files.Read", "Files.Write"]);
    }

    #[test]
    fn v2_response_scopes_are_qualified_as_requested() {
        let uri = "https://files.contoso.example/";
        let check =
            |scp, requested, refresh| v2_response_scope(scp, uri, requested, refresh, &|_| false);
        assert_eq!(
            check(
                "Files.Read",
                Some("https://files.contoso.example/Files.Read openid profile offline_access"),
                true
            ),
            "https://files.contoso.example/Files.Read openid profile offline_access"
        );
        assert_eq!(
            check(
                "Files.Read Files.Write",
                Some("https://files.contoso.example//.default offline_access"),
                false
            ),
            "https://files.contoso.example//Files.Read https://files.contoso.example//Files.Write https://files.contoso.example//.default"
        );
        assert_eq!(
            check("Files.Read", None, true),
            "https://files.contoso.example/Files.Read"
        );
    }

    #[test]
    fn an_undefined_scope_is_invalid_scope() {
        let err = requested_scopes(Some("Files.Delete"), &api())
            .err()
            .unwrap();
        assert_eq!(
            err,
            Aadsts::InvalidScope {
                scope: "Files.Delete".into()
            }
        );
        let err = requested_scopes(Some("https://other.example/Files.Read"), &api())
            .err()
            .unwrap();
        assert_eq!(err.number(), 70011);
    }
}
