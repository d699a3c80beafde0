//! The directory file (TOML). The keys of docs/spec/design.md are the
//! contract; unknown keys are refused so a typo never silently drops a
//! setting.

use std::collections::HashSet;
use std::path::Path;

use latchkey_protocol::{GrantType, Version};
use uuid::Uuid;

use latchkey_protocol::same_resource;

mod credentials;
mod managed_identity;
mod raw;

use super::{Api, App, Consent, DirectoryData, LockoutPolicy, Tenant, User};
use crate::keys::SigningAlg;
use crate::scenarios::Scenario;
use crate::secrets::{Digest, MIN_SECRET_LEN, hash_password, is_argon2id_phc};
use raw::{RawApi, RawApp, RawDirectory, RawTenant, RawUser, Secret};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read the directory file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the directory file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("{at}: {problem}")]
    Invalid { at: String, problem: String },
}

fn invalid(at: impl Into<String>, problem: impl Into<String>) -> DirectoryError {
    DirectoryError::Invalid {
        at: at.into(),
        problem: problem.into(),
    }
}

/// A directory file: what goes into the store, and the error scenarios it
/// puts in force (kept in memory, never in the store).
#[derive(Debug, Clone, Default)]
pub struct DirectoryFile {
    pub directory: DirectoryData,
    pub scenarios: Vec<Scenario>,
}

/// Reads and validates a directory file.
pub fn load_directory_file(path: &Path) -> Result<DirectoryFile, DirectoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_directory_at(&text, path.parent())
}

/// Parses and validates directory TOML. Passwords are hashed here. A
/// `path` in it (a certificate, a JWKS) is refused: it needs the file's
/// location (`load_directory_file`, `parse_directory_at`).
pub fn parse_directory(text: &str) -> Result<DirectoryFile, DirectoryError> {
    parse_directory_at(text, None)
}

/// Parses and validates directory TOML whose relative paths start at
/// `base`, the directory file's folder.
pub fn parse_directory_at(
    text: &str,
    base: Option<&Path>,
) -> Result<DirectoryFile, DirectoryError> {
    let raw: RawDirectory = toml::from_str(text)?;
    validate(raw, base)
}

fn validate(raw: RawDirectory, base: Option<&Path>) -> Result<DirectoryFile, DirectoryError> {
    let mut data = DirectoryData::default();
    let mut scenarios = Vec::new();
    let mut tenant_ids = HashSet::new();
    let mut domains = HashSet::new();
    let mut client_ids = HashSet::new();
    let mut app_ids = HashSet::new();
    for (t, raw_tenant) in raw.tenants.into_iter().enumerate() {
        let at = format!("tenants[{t}]");
        if !tenant_ids.insert(raw_tenant.id) {
            return Err(invalid(
                at,
                format!("tenant id {} appears twice", raw_tenant.id),
            ));
        }
        let mut tenant_domains = Vec::new();
        for domain in &raw_tenant.domains {
            let domain = domain.to_ascii_lowercase();
            if domain.is_empty() || domain.contains(['/', ' ', '@']) || domain == "common" {
                return Err(invalid(
                    format!("{at}.domains"),
                    format!("'{domain}' is not a domain name"),
                ));
            }
            if !domains.insert(domain.clone()) {
                return Err(invalid(
                    format!("{at}.domains"),
                    format!("domain '{domain}' belongs to two tenants"),
                ));
            }
            tenant_domains.push(domain);
        }
        let tenant = Tenant {
            id: raw_tenant.id,
            name: raw_tenant.name.clone().unwrap_or_else(|| {
                tenant_domains
                    .first()
                    .cloned()
                    .unwrap_or_else(|| raw_tenant.id.to_string())
            }),
            domains: tenant_domains,
            profile: raw_tenant.profile,
            lockout: lockout_policy(&at, &raw_tenant)?,
            refresh_token_reuse_seconds: reuse_seconds(
                &at,
                raw_tenant.refresh_token_reuse_seconds,
            )?,
            signing_alg: signing_alg(&at, raw_tenant.signing_alg.as_deref())?,
        };
        let apis = validate_apis(&at, tenant.id, raw_tenant.apis, &mut app_ids)?;
        let first_app = data.apps.len();
        // Assignments name users, who are read after the apps.
        let mut assignments = Vec::new();
        for (a, mut raw_app) in raw_tenant.apps.into_iter().enumerate() {
            let at = format!("{at}.apps[{a}]");
            if !client_ids.insert(raw_app.client_id) {
                return Err(invalid(
                    at,
                    format!("client_id {} appears twice", raw_app.client_id),
                ));
            }
            assignments.push((
                format!("{at}.assigned_users"),
                std::mem::take(&mut raw_app.assigned_users),
            ));
            data.apps
                .push(validate_app(&at, tenant.id, &apis, raw_app, base)?);
        }
        let mut upns = HashSet::new();
        let first_user = data.users.len();
        for (u, raw_user) in raw_tenant.users.into_iter().enumerate() {
            let at = format!("{at}.users[{u}]");
            let (user, consents) = validate_user(&at, tenant.id, &apis, &data.apps, raw_user)?;
            if !upns.insert(user.upn.clone()) {
                return Err(invalid(at, format!("upn '{}' appears twice", user.upn)));
            }
            data.users.push(user);
            data.consents.extend(consents);
        }
        for (app, (at, assigned)) in data.apps[first_app..].iter_mut().zip(assignments) {
            app.assigned_users = assigned_users(&at, &data.users[first_user..], assigned)?;
        }
        data.managed_identities.extend(managed_identity::validate(
            &at,
            tenant.id,
            &apis,
            raw_tenant.managed_identities,
            &mut client_ids,
        )?);
        for (i, spec) in raw_tenant.scenarios.into_iter().enumerate() {
            let scenario = spec
                .validate(tenant.id)
                .map_err(|problem| invalid(format!("{at}.scenarios[{i}]"), problem))?;
            scenarios.push(scenario);
        }
        data.apis.extend(apis);
        data.tenants.push(tenant);
    }
    Ok(DirectoryFile {
        directory: data,
        scenarios,
    })
}

fn validate_apis(
    at: &str,
    tenant_id: Uuid,
    raw: Vec<RawApi>,
    app_ids: &mut HashSet<Uuid>,
) -> Result<Vec<Api>, DirectoryError> {
    let mut apis: Vec<Api> = Vec::new();
    for (i, raw_api) in raw.into_iter().enumerate() {
        let at = format!("{at}.apis[{i}]");
        if !raw_api.app_id_uri.contains(':') {
            return Err(invalid(
                at,
                format!("app_id_uri '{}' is not a URI", raw_api.app_id_uri),
            ));
        }
        if apis
            .iter()
            .any(|api| same_resource(&api.app_id_uri, &raw_api.app_id_uri))
        {
            return Err(invalid(
                at,
                format!("app_id_uri '{}' appears twice", raw_api.app_id_uri),
            ));
        }
        for name in raw_api.scopes.iter().chain(&raw_api.roles) {
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(invalid(
                    &at,
                    format!("'{name}' is not a valid scope or role name"),
                ));
            }
        }
        let app_id = match &raw_api.app_id {
            None => None,
            Some(text) => {
                let id = Uuid::try_parse(text)
                    .ok()
                    .filter(|_| text.len() == 36)
                    .ok_or_else(|| {
                        invalid(format!("{at}.app_id"), format!("'{text}' is not a GUID"))
                    })?;
                if !app_ids.insert(id) {
                    return Err(invalid(&at, format!("app_id {id} appears twice")));
                }
                Some(id)
            }
        };
        let access_token_version = match raw_api.access_token_version {
            None => None,
            Some(1) => Some(Version::V1),
            Some(2) => Some(Version::V2),
            Some(other) => {
                return Err(invalid(
                    format!("{at}.access_token_version"),
                    format!("{other} is not a token version (1 or 2)"),
                ));
            }
        };
        apis.push(Api {
            tenant_id,
            name: raw_api.name,
            app_id_uri: raw_api.app_id_uri,
            scopes: raw_api.scopes,
            roles: raw_api.roles,
            app_id,
            access_token_version,
            require_mfa: raw_api.require_mfa.unwrap_or(false),
        });
    }
    Ok(apis)
}

fn find_api<'a>(apis: &'a [Api], uri: &str, at: &str) -> Result<&'a Api, DirectoryError> {
    apis.iter()
        .find(|api| api.named_by(uri))
        .ok_or_else(|| invalid(at, format!("api '{uri}' is not defined in this tenant")))
}

fn validate_app(
    at: &str,
    tenant_id: Uuid,
    apis: &[Api],
    raw: RawApp,
    base: Option<&Path>,
) -> Result<App, DirectoryError> {
    let secret = match raw.secret {
        Some(Secret(secret)) if secret.chars().count() < MIN_SECRET_LEN => {
            return Err(invalid(
                format!("{at}.secret"),
                format!("a client secret needs at least {MIN_SECRET_LEN} characters"),
            ));
        }
        Some(Secret(secret)) => Some(Digest::of(&secret)),
        None => None,
    };
    let certificates = credentials::certificates(at, raw.certificates, base)?;
    let federated_credentials =
        credentials::federated_credentials(at, raw.federated_credentials, base)?;
    let confidential =
        secret.is_some() || !certificates.is_empty() || !federated_credentials.is_empty();
    if raw.single_use_assertions && certificates.is_empty() && federated_credentials.is_empty() {
        return Err(invalid(
            format!("{at}.single_use_assertions"),
            "the app has no certificate or federated credential to sign assertions with",
        ));
    }
    let mut grant_types = Vec::new();
    for name in &raw.grant_types {
        let grant = GrantType::parse(name).ok_or_else(|| {
            invalid(
                format!("{at}.grant_types"),
                format!("unknown grant type '{name}'"),
            )
        })?;
        if matches!(grant, GrantType::ClientCredentials | GrantType::OnBehalfOf) && !confidential {
            return Err(invalid(
                format!("{at}.grant_types"),
                format!(
                    "{name} needs a confidential client (a secret, a certificate or a federated credential)"
                ),
            ));
        }
        grant_types.push(grant);
    }
    for uri in &raw.redirect_uris {
        if let Some(problem) = super::redirect_uri::refusal(uri, !confidential) {
            return Err(invalid(
                format!("{at}.redirect_uris"),
                format!("'{uri}' {problem}"),
            ));
        }
    }
    for uri in &raw.spa_redirect_uris {
        if let Some(problem) = super::redirect_uri::spa_refusal(uri) {
            return Err(invalid(
                format!("{at}.spa_redirect_uris"),
                format!("'{uri}' {problem}"),
            ));
        }
        if raw.redirect_uris.contains(uri) {
            return Err(invalid(
                format!("{at}.spa_redirect_uris"),
                format!("'{uri}' is in redirect_uris too: a redirect URI is of one kind"),
            ));
        }
    }
    for (p, permission) in raw.permissions.iter().enumerate() {
        let at = format!("{at}.permissions[{p}]");
        let api = find_api(apis, &permission.api, &at)?;
        for scope in &permission.scopes {
            if !api.scopes.contains(scope) {
                return Err(invalid(
                    &at,
                    format!("scope '{scope}' is not defined by '{}'", api.app_id_uri),
                ));
            }
        }
        for role in &permission.roles {
            if !api.roles.contains(role) {
                return Err(invalid(
                    &at,
                    format!("role '{role}' is not defined by '{}'", api.app_id_uri),
                ));
            }
        }
    }
    Ok(App {
        tenant_id,
        client_id: raw.client_id,
        object_id: raw
            .object_id
            .unwrap_or_else(|| derived_id(tenant_id, "app", &raw.client_id.to_string())),
        name: raw.name,
        secret,
        redirect_uris: raw.redirect_uris,
        spa_redirect_uris: raw.spa_redirect_uris,
        grant_types,
        permissions: raw.permissions,
        assignment_required: raw.assignment_required,
        // Filled in once the tenant's users are read (`assigned_users`).
        assigned_users: Vec::new(),
        certificates,
        federated_credentials,
        single_use_assertions: raw.single_use_assertions,
    })
}

/// The object ids of the users an app's `assigned_users` names, each a
/// user of its tenant (`users`), named once.
fn assigned_users(
    at: &str,
    users: &[User],
    upns: Vec<String>,
) -> Result<Vec<Uuid>, DirectoryError> {
    let mut ids = Vec::with_capacity(upns.len());
    for upn in upns {
        let lower = upn.to_ascii_lowercase();
        let user = users
            .iter()
            .find(|user| user.upn == lower)
            .ok_or_else(|| invalid(at, format!("'{upn}' is not a user of this tenant")))?;
        if ids.contains(&user.object_id) {
            return Err(invalid(at, format!("'{upn}' appears twice")));
        }
        ids.push(user.object_id);
    }
    Ok(ids)
}

fn validate_user(
    at: &str,
    tenant_id: Uuid,
    apis: &[Api],
    apps: &[App],
    raw: RawUser,
) -> Result<(User, Vec<Consent>), DirectoryError> {
    let upn = raw.upn.to_ascii_lowercase();
    if upn.split('@').count() != 2 || upn.starts_with('@') || upn.ends_with('@') {
        return Err(invalid(
            format!("{at}.upn"),
            format!("'{}' is not a user principal name (name@domain)", raw.upn),
        ));
    }
    let password_hash = match (&raw.password, &raw.password_hash) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                at.to_owned(),
                "give `password` or `password_hash`, not both",
            ));
        }
        (None, None) => {
            return Err(invalid(
                at.to_owned(),
                "a user needs `password` or `password_hash`",
            ));
        }
        (Some(Secret(password)), None) if password.is_empty() => {
            return Err(invalid(format!("{at}.password"), "the password is empty"));
        }
        (Some(Secret(password)), None) => hash_password(password).map_err(|e| {
            invalid(
                format!("{at}.password"),
                format!("cannot hash the password: {e}"),
            )
        })?,
        (None, Some(Secret(phc))) if is_argon2id_phc(phc) => phc.clone(),
        (None, Some(_)) => {
            return Err(invalid(
                format!("{at}.password_hash"),
                "not an Argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)",
            ));
        }
    };
    let totp_secret = match raw.totp_secret {
        Some(Secret(s)) => {
            let normalized: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_uppercase();
            if normalized.len() < 16
                || !normalized
                    .trim_end_matches('=')
                    .chars()
                    .all(|c| matches!(c, 'A'..='Z' | '2'..='7'))
            {
                return Err(invalid(
                    format!("{at}.totp_secret"),
                    "a TOTP secret is base32 of at least 80 bits (16 characters)",
                ));
            }
            Some(normalized)
        }
        None => None,
    };
    if raw.mfa_enforced.is_some() && totp_secret.is_none() {
        return Err(invalid(
            format!("{at}.mfa_enforced"),
            "mfa_enforced says when the second factor is asked for: the user needs a totp_secret",
        ));
    }
    let object_id = raw
        .object_id
        .unwrap_or_else(|| derived_id(tenant_id, "user", &upn));
    let mut consents = Vec::new();
    for (c, consent) in raw.consents.into_iter().enumerate() {
        let at = format!("{at}.consents[{c}]");
        if !apps
            .iter()
            .any(|app| app.tenant_id == tenant_id && app.client_id == consent.client_id)
        {
            return Err(invalid(
                &at,
                format!(
                    "client_id {} is not an application of this tenant",
                    consent.client_id
                ),
            ));
        }
        let candidates: Vec<&Api> = match &consent.api {
            Some(uri) => vec![find_api(apis, uri, &at)?],
            None => apis.iter().collect(),
        };
        for scope in &consent.scopes {
            if !candidates.iter().any(|api| api.scopes.contains(scope)) {
                return Err(invalid(
                    &at,
                    format!("scope '{scope}' is not defined by any API it may refer to"),
                ));
            }
        }
        consents.push(Consent {
            tenant_id,
            user_oid: object_id,
            client_id: consent.client_id,
            api: consent.api,
            scopes: consent.scopes,
        });
    }
    let user = User {
        tenant_id,
        object_id,
        upn,
        display_name: raw.display_name,
        password_hash,
        totp_secret,
        mfa_enforced: raw.mfa_enforced.unwrap_or(true),
        roles: raw.roles,
    };
    Ok((user, consents))
}

/// A stable object id for an entry the file gives none: the same file
/// always yields the same ids, so reloading is idempotent.
fn derived_id(tenant: Uuid, kind: &str, name: &str) -> Uuid {
    Uuid::new_v5(&tenant, format!("{kind}:{name}").as_bytes())
}

/// The tenant's lockout policy: Azure AD's defaults for what it leaves out.
fn lockout_policy(at: &str, raw: &RawTenant) -> Result<LockoutPolicy, DirectoryError> {
    let defaults = LockoutPolicy::default();
    let policy = LockoutPolicy {
        threshold: raw.lockout_threshold.unwrap_or(defaults.threshold),
        seconds: raw.lockout_duration_seconds.unwrap_or(defaults.seconds),
    };
    if policy.threshold == 0 || policy.seconds == 0 {
        return Err(invalid(
            at.to_owned(),
            "lockout_threshold and lockout_duration_seconds must be at least 1".to_owned(),
        ));
    }
    Ok(policy)
}

/// The tenant's refresh-token reuse interval, in seconds.
fn reuse_seconds(at: &str, raw: Option<i64>) -> Result<u32, DirectoryError> {
    let max = super::MAX_REFRESH_TOKEN_REUSE_SECONDS;
    match raw {
        None => Ok(super::DEFAULT_REFRESH_TOKEN_REUSE_SECONDS),
        Some(seconds) => u32::try_from(seconds)
            .ok()
            .filter(|s| *s <= max)
            .ok_or_else(|| {
                invalid(
                    format!("{at}.refresh_token_reuse_seconds"),
                    format!(
                        "{seconds} is not a number of seconds from 0 (strict rotation) to {max}"
                    ),
                )
            }),
    }
}

/// The tenant's signing algorithm: RS256 unless the file says ES256.
fn signing_alg(at: &str, raw: Option<&str>) -> Result<SigningAlg, DirectoryError> {
    raw.map_or(Ok(SigningAlg::default()), |alg| {
        alg.parse()
            .map_err(|problem| invalid(format!("{at}.signing_alg"), problem))
    })
}

#[cfg(test)]
mod tests;
