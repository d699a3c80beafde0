//! The directory: tenants, APIs, applications, users and consents.
//!
//! `file` reads the TOML directory file, `demo` builds the built-in demo
//! tenant, and [`Directory`] is the in-memory view of tenants, APIs and
//! applications that every token request consults. Users and grants are not
//! held in memory: they live in the store, which scales to millions of them.

pub mod credentials;
mod demo;
mod file;
mod managed_identity;
mod redirect_uri;

use std::collections::HashMap;

use latchkey_protocol::{GrantType, Profile, Version, same_resource};
use uuid::Uuid;

use crate::secrets::Digest;
use credentials::{Certificate, FederatedCredential};

pub use demo::{DemoCredentials, DemoError, demo_directory};
pub use file::{
    DirectoryError, DirectoryFile, load_directory_file, parse_directory, parse_directory_at,
};
pub use managed_identity::{IdentityKind, IdentitySelector, ManagedIdentity};
pub use redirect_uri::origin_of;

use crate::keys::SigningAlg;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    /// Lower-case domain names.
    pub domains: Vec<String>,
    /// The description profile for this tenant; `None` follows the server.
    pub profile: Option<Profile>,
    /// When failed sign-ins lock a user name, and for how long.
    pub lockout: LockoutPolicy,
    /// How long after its rotation a refresh token presented again still
    /// gets an answer (a sibling successor) instead of revoking its family:
    /// two tabs refreshing at once. 0: strict rotation.
    pub refresh_token_reuse_seconds: u32,
    /// What its tokens are signed with (RS256 unless the directory file
    /// says ES256).
    pub signing_alg: SigningAlg,
}

/// `refresh_token_reuse_seconds` when the directory file says nothing:
/// long enough for two tabs (or a retry after a lost response) that
/// refresh together on a slow link, short enough that a stolen token is
/// worth little once its owner has refreshed.
pub const DEFAULT_REFRESH_TOKEN_REUSE_SECONDS: u32 = 5;

/// The most `refresh_token_reuse_seconds` may be (Okta's cap too).
pub const MAX_REFRESH_TOKEN_REUSE_SECONDS: u32 = 60;

/// Smart lockout, as Azure AD's defaults have it: `threshold` failed
/// passwords or second-factor codes lock the user name for `seconds`, and
/// each further lockout before a successful sign-in doubles that (up to
/// 64 times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub seconds: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            threshold: 10,
            seconds: 60,
        }
    }
}

/// A secured resource (web API), named by its App ID URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    pub tenant_id: Uuid,
    pub name: String,
    pub app_id_uri: String,
    /// Delegated scopes (`scp`).
    pub scopes: Vec<String>,
    /// Application roles (`roles`).
    pub roles: Vec<String>,
    /// The application (client) id of the app registration that exposes
    /// the API: a second name for it, and the `aud` of its v2 tokens.
    pub app_id: Option<Uuid>,
    /// The version of every access token issued for the API, whichever
    /// endpoint issued it (Azure AD's `accessTokenAcceptedVersion`);
    /// `None`: the endpoint's.
    pub access_token_version: Option<Version>,
    /// Whether the tenant requires a second factor for this API (standing
    /// in for a conditional-access policy): a token for it needs `mfa` in
    /// the sign-in's `amr`.
    pub require_mfa: bool,
}

impl Api {
    /// Whether `resource` names this API: its App ID URI, or with an
    /// `app_id` that GUID bare or as `api://{app_id}`.
    pub fn named_by(&self, resource: &str) -> bool {
        same_resource(&self.app_id_uri, resource)
            || self
                .app_id
                .is_some_and(|id| parse_app_id(resource) == Some(id))
    }

    /// The version of an access token for this API issued at an endpoint
    /// of `endpoint`'s version.
    pub fn token_version(&self, endpoint: Version) -> Version {
        self.access_token_version.unwrap_or(endpoint)
    }

    /// The `aud` of an access token of `version` for this API: the
    /// `app_id` in a v2 token when there is one, else the App ID URI.
    pub fn audience(&self, version: Version) -> String {
        match (version, self.app_id) {
            (Version::V2, Some(id)) => id.to_string(),
            _ => self.app_id_uri.clone(),
        }
    }

    /// The id of the policy `require_mfa` stands for, as the `capolids` of
    /// a claims challenge names it: the same for the same tenant and App
    /// ID URI on every replica and at every start, so a claims request
    /// outlives a restart.
    pub fn mfa_policy_id(&self) -> Uuid {
        let uri = self.app_id_uri.trim_end_matches('/').to_ascii_lowercase();
        Uuid::new_v5(&self.tenant_id, format!("require_mfa:{uri}").as_bytes())
    }
}

/// The GUID of a resource written `{guid}` or `api://{guid}` (a trailing
/// slash allowed).
pub fn parse_app_id(resource: &str) -> Option<Uuid> {
    let s = resource.strip_suffix('/').unwrap_or(resource);
    let s = match s.get(..6) {
        Some(scheme) if scheme.eq_ignore_ascii_case("api://") => &s[6..],
        _ => s,
    };
    if s.len() != 36 {
        return None;
    }
    Uuid::try_parse(s).ok()
}

/// An API permission an application asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Permission {
    pub api: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Application roles, granted by an administrator.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// An application (OAuth client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct App {
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub name: String,
    /// The service principal's object id: `oid` and `sub` of app-only tokens.
    pub object_id: Uuid,
    /// `None`: a public client.
    pub secret: Option<Digest>,
    pub redirect_uris: Vec<String>,
    /// Redirect URIs of the single-page-application kind: their codes and
    /// refresh tokens are redeemed cross-origin, from their origin only.
    pub spa_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub permissions: Vec<Permission>,
    /// Azure AD's "assignment required": a user not in `assigned_users`
    /// gets no token from the app (AADSTS50105).
    pub assignment_required: bool,
    /// The object ids of the users assigned to the app (the file names
    /// them by UPN). Without `assignment_required` they change nothing, as
    /// Azure AD's assignments do while assignment is not required.
    pub assigned_users: Vec<Uuid>,
    /// Certificates whose keys sign the app's client assertions.
    pub certificates: Vec<Certificate>,
    /// External issuers whose assertions are the app's credential.
    pub federated_credentials: Vec<FederatedCredential>,
    /// Each client assertion accepted once, by its `jti` (Azure AD takes
    /// one again until it expires).
    pub single_use_assertions: bool,
}

impl App {
    /// A client with a credential: a secret, a certificate or a federated
    /// credential.
    pub fn is_confidential(&self) -> bool {
        self.secret.is_some() || self.signs_assertions()
    }

    /// Whether the app authenticates with client assertions.
    pub fn signs_assertions(&self) -> bool {
        !self.certificates.is_empty() || !self.federated_credentials.is_empty()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Every redirect URI the app registered, web (and native) and SPA.
    pub fn all_redirect_uris(&self) -> impl Iterator<Item = &String> {
        self.redirect_uris.iter().chain(&self.spa_redirect_uris)
    }

    /// Whether `user` may get tokens from this app: any user of the
    /// tenant, unless the app requires assignment.
    pub fn admits(&self, user: &User) -> bool {
        !self.assignment_required || self.assigned_users.contains(&user.object_id)
    }

    /// The permission this app holds on `api`, if any.
    pub fn permission_for(&self, api: &Api) -> Option<&Permission> {
        self.permissions.iter().find(|p| api.named_by(&p.api))
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub tenant_id: Uuid,
    pub object_id: Uuid,
    /// Lower-case user principal name.
    pub upn: String,
    pub display_name: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret: the user's second factor.
    pub totp_secret: Option<String>,
    /// Whether the second factor is asked for at every sign-in (Azure AD's
    /// per-user MFA, enforced), or only where a policy (`require_mfa`) or a
    /// claims request needs it. Meaningless without a `totp_secret`.
    pub mfa_enforced: bool,
    pub roles: Vec<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("tenant_id", &self.tenant_id)
            .field("object_id", &self.object_id)
            .field("upn", &self.upn)
            .field("requires_mfa", &self.requires_second_factor())
            .finish_non_exhaustive()
    }
}

impl User {
    /// Whether every sign-in of the user asks for the second factor.
    pub fn requires_second_factor(&self) -> bool {
        self.has_second_factor() && self.mfa_enforced
    }

    /// Whether the user can pass a second factor (has one enrolled).
    pub fn has_second_factor(&self) -> bool {
        self.totp_secret.is_some()
    }
}

/// Delegated scopes a user consented to for an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub tenant_id: Uuid,
    pub user_oid: Uuid,
    pub client_id: Uuid,
    /// The App ID URI the scopes belong to; `None`: any API of the tenant
    /// that defines them.
    pub api: Option<String>,
    pub scopes: Vec<String>,
}

impl Consent {
    pub fn covers(&self, api: &Api) -> bool {
        self.api.as_deref().is_none_or(|uri| api.named_by(uri))
    }
}

/// Everything a directory file (or the demo) names.
#[derive(Debug, Clone, Default)]
pub struct DirectoryData {
    pub tenants: Vec<Tenant>,
    pub apis: Vec<Api>,
    pub apps: Vec<App>,
    pub users: Vec<User>,
    pub consents: Vec<Consent>,
    pub managed_identities: Vec<ManagedIdentity>,
}

/// How the `{tenant}` path segment resolved.
#[derive(Debug, Clone, Copy)]
pub enum TenantRef<'a> {
    /// `common`: the tenant is found from the client or the user.
    Common,
    Tenant(&'a Tenant),
}

/// The in-memory view of tenants, APIs and applications.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Directory {
    tenants: HashMap<Uuid, Tenant>,
    by_domain: HashMap<String, Uuid>,
    apis: HashMap<Uuid, Vec<Api>>,
    apps: HashMap<Uuid, App>,
    /// By tenant: never among `apps`, so the token endpoint finds none.
    managed_identities: HashMap<Uuid, Vec<ManagedIdentity>>,
}

impl Directory {
    pub fn new(data: DirectoryData) -> Directory {
        let mut directory = Directory::default();
        for tenant in data.tenants {
            for domain in &tenant.domains {
                directory.by_domain.insert(domain.clone(), tenant.id);
            }
            directory.tenants.insert(tenant.id, tenant);
        }
        for api in data.apis {
            directory.apis.entry(api.tenant_id).or_default().push(api);
        }
        for app in data.apps {
            directory.apps.insert(app.client_id, app);
        }
        for identity in data.managed_identities {
            directory
                .managed_identities
                .entry(identity.tenant_id)
                .or_default()
                .push(identity);
        }
        directory
    }

    /// The managed identity of `tenant` that `selector` names: the
    /// system-assigned one, or a user-assigned one by client id, principal
    /// id (GUIDs, any case) or resource id.
    pub fn managed_identity(
        &self,
        tenant: Uuid,
        selector: &IdentitySelector,
    ) -> Option<&ManagedIdentity> {
        let guid = |text: &str| Uuid::try_parse(text.trim()).ok();
        let mut identities = self.managed_identities.get(&tenant)?.iter();
        match selector {
            IdentitySelector::System => identities.find(|i| i.kind == IdentityKind::System),
            IdentitySelector::ClientId(id) => {
                let id = guid(id)?;
                identities.find(|i| i.client_id == id)
            }
            IdentitySelector::PrincipalId(id) => {
                let id = guid(id)?;
                identities.find(|i| i.principal_id == id)
            }
            IdentitySelector::ResourceId(id) => {
                identities.find(|i| i.kind == IdentityKind::User && i.named_by_resource_id(id))
            }
        }
    }

    /// Resolves `/{tenant}`: a GUID, a domain name, or `common`.
    pub fn resolve_tenant(&self, segment: &str) -> Option<TenantRef<'_>> {
        if segment.eq_ignore_ascii_case("common") {
            return Some(TenantRef::Common);
        }
        let id = match Uuid::try_parse(segment) {
            Ok(id) => id,
            Err(_) => *self.by_domain.get(&segment.to_ascii_lowercase())?,
        };
        self.tenants.get(&id).map(TenantRef::Tenant)
    }

    pub fn tenant(&self, id: Uuid) -> Option<&Tenant> {
        self.tenants.get(&id)
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }

    /// The application with `client_id`, in any tenant.
    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.get(&Uuid::try_parse(client_id).ok()?)
    }

    /// The API registered in `tenant` under `resource`.
    pub fn api(&self, tenant: Uuid, resource: &str) -> Option<&Api> {
        self.apis
            .get(&tenant)?
            .iter()
            .find(|api| api.named_by(resource))
    }

    /// Whether `policy` (a claims request's `capolids` value) is the id of
    /// the `require_mfa` policy of an API of `tenant`.
    pub fn is_mfa_policy(&self, tenant: Uuid, policy: &str) -> bool {
        let Ok(policy) = Uuid::try_parse(policy) else {
            return false;
        };
        self.apis
            .get(&tenant)
            .into_iter()
            .flatten()
            .any(|api| api.require_mfa && api.mfa_policy_id() == policy)
    }

    /// The API whose `app_id` `resource` names (`{guid}`, `api://{guid}`),
    /// in any tenant: app ids are unique across the directory.
    pub fn api_by_app_id(&self, resource: &str) -> Option<&Api> {
        let id = parse_app_id(resource)?;
        self.apis
            .values()
            .flatten()
            .find(|api| api.app_id == Some(id))
    }
}
