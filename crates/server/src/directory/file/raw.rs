//! The directory file's TOML as written: one struct per table, every key
//! the design names and nothing else (`deny_unknown_fields`). Nothing here
//! is checked yet: `super` validates it into the domain types.

use latchkey_protocol::Profile;
use serde::Deserialize;
use uuid::Uuid;

use crate::directory::Permission;
use crate::scenarios::ScenarioSpec;

/// A string that never shows in `Debug` output or logs.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub(super) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDirectory {
    #[serde(default)]
    pub tenants: Vec<RawTenant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    pub id: Uuid,
    pub name: Option<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    pub profile: Option<Profile>,
    /// Failed sign-ins that lock a user name (default 10).
    pub lockout_threshold: Option<u32>,
    /// The first lockout's length in seconds (default 60).
    pub lockout_duration_seconds: Option<u32>,
    /// Seconds after its rotation in which a refresh token presented again
    /// is answered rather than taken for a theft (default 5; 0: strict).
    pub refresh_token_reuse_seconds: Option<i64>,
    /// "RS256" (the default, as Azure AD) or "ES256".
    pub signing_alg: Option<String>,
    #[serde(default)]
    pub apis: Vec<RawApi>,
    #[serde(default)]
    pub apps: Vec<RawApp>,
    #[serde(default)]
    pub users: Vec<RawUser>,
    /// Error scenarios in force from the start (see `scenarios`).
    #[serde(default)]
    pub scenarios: Vec<ScenarioSpec>,
    #[serde(default)]
    pub managed_identities: Vec<RawManagedIdentity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub name: String,
    pub app_id_uri: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// The application (client) id of the registration exposing the API.
    pub app_id: Option<String>,
    /// 1 or 2: the version of every access token for the API.
    pub access_token_version: Option<i64>,
    /// A second factor required for the API (a conditional-access policy).
    pub require_mfa: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    pub client_id: Uuid,
    pub name: String,
    pub object_id: Option<Uuid>,
    pub secret: Option<Secret>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Redirect URIs of the single-page-application kind.
    #[serde(default)]
    pub spa_redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Azure AD's "assignment required": only `assigned_users` get tokens.
    #[serde(default)]
    pub assignment_required: bool,
    /// UPNs of this tenant's users assigned to the app.
    #[serde(default)]
    pub assigned_users: Vec<String>,
    /// Certificates whose keys sign the app's client assertions.
    #[serde(default)]
    pub certificates: Vec<RawCertificate>,
    /// External issuers whose assertions are the app's credential.
    #[serde(default)]
    pub federated_credentials: Vec<RawFederatedCredential>,
    /// Each client assertion accepted once (by its `jti`).
    #[serde(default)]
    pub single_use_assertions: bool,
}

/// A certificate, in the file (`pem`) or beside it (`path`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertificate {
    pub pem: Option<String>,
    /// Relative to the directory file.
    pub path: Option<String>,
}

/// Azure AD's federated identity credential.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFederatedCredential {
    pub name: Option<String>,
    pub issuer: String,
    pub subject: String,
    /// One audience or a list (default `api://AzureADTokenExchange`).
    pub audience: Option<OneOrMany>,
    /// A JWKS file, relative to the directory file; without it the keys
    /// come from the issuer's OpenID configuration.
    pub jwks_path: Option<String>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    pub upn: String,
    /// The password in clear, hashed with Argon2id at start…
    pub password: Option<Secret>,
    /// …or already hashed: an Argon2id PHC string (users moved from
    /// another system, or many users without hashing at every start).
    pub password_hash: Option<Secret>,
    pub object_id: Option<Uuid>,
    pub display_name: Option<String>,
    pub totp_secret: Option<Secret>,
    /// Whether the second factor is asked for at every sign-in (default),
    /// or only where a policy or a claims request needs it.
    pub mfa_enforced: Option<bool>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub consents: Vec<RawConsent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsent {
    pub client_id: Uuid,
    pub api: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManagedIdentity {
    pub name: String,
    pub client_id: Uuid,
    /// "system" or "user".
    pub kind: String,
    /// The service principal's object id; derived from the client id when
    /// absent.
    pub principal_id: Option<Uuid>,
    #[serde(default)]
    pub permissions: Vec<RawIdentityPermission>,
}

/// An application permission of a managed identity: roles only (an
/// identity has no user to hold delegated scopes for).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentityPermission {
    pub api: String,
    #[serde(default)]
    pub roles: Vec<String>,
}
