//! How a web API configures the middleware.

use std::time::Duration;

/// The settings of a [`Validator`](crate::Validator). Build with
/// [`ResourceConfig::new`], adjust the public fields, then validate with
/// [`Validator::new`](crate::Validator::new).
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// The tenant authority: `{public-url}/{tenant}`. Its OpenID discovery
    /// document names the issuer, the JWKS and the authorize endpoint.
    pub authority: String,
    /// The API's App ID URI: sent as `resource_id` in every challenge.
    pub resource_id: String,
    /// `aud` values accepted; the resource id alone when empty.
    pub audiences: Vec<String>,
    /// Whose tokens are accepted. Required with a multi-tenant authority
    /// (`common`, `organizations`), whose tokens each name their own
    /// tenant: App ID URIs are unique only within a tenant, so any tenant
    /// can register this API's App ID URI and get tokens for it.
    pub tenants: AcceptedTenants,
    /// RFC 6750 §3.1: no `error` when a request carries no credentials.
    pub strict: bool,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Keys are refetched in the background this often.
    pub refresh_interval: Duration,
    /// An unknown `kid` triggers a refetch at most this often.
    pub min_refetch_interval: Duration,
    /// Validated tokens remembered (by SHA-256) until they expire.
    pub cache_capacity: usize,
    /// Longest token accepted, in bytes.
    pub max_token_bytes: usize,
    /// Timeout of discovery and JWKS requests.
    pub fetch_timeout: Duration,
    /// CA certificates (PEM) trusted besides the built-in roots, e.g. the
    /// local CA of `latchkey serve --tls-self-signed`.
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl ResourceConfig {
    pub fn new(authority: impl Into<String>, resource_id: impl Into<String>) -> ResourceConfig {
        ResourceConfig {
            authority: authority.into().trim_end_matches('/').to_owned(),
            resource_id: resource_id.into(),
            audiences: Vec::new(),
            tenants: AcceptedTenants::Unset,
            strict: false,
            leeway: Duration::from_secs(60),
            refresh_interval: Duration::from_secs(3600),
            min_refetch_interval: Duration::from_secs(60),
            cache_capacity: 10_000,
            max_token_bytes: 8 * 1024,
            fetch_timeout: Duration::from_secs(5),
            extra_roots_pem: None,
        }
    }
}

/// The tenants (`tid`) whose tokens an API accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AcceptedTenants {
    /// Not said: a single-tenant authority's own tenant (its issuer pins
    /// it); refused at start with a multi-tenant authority.
    #[default]
    Unset,
    /// Only these tenant ids (GUIDs).
    Only(Vec<String>),
    /// Every tenant of the authority: only for an API that decides per
    /// tenant itself, from `tid` and `iss` (logged as a warning at start).
    Any,
}

/// A configuration that cannot work, refused at start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("the authority '{0}' is not an http(s) URL")]
    Authority(String),
    #[error("the resource id is empty")]
    ResourceId,
    #[error(
        "the authority '{0}' is multi-tenant: name the tenants whose tokens this API accepts \
         (or accept any tenant, explicitly)"
    )]
    TenantsRequired(String),
    #[error("'{0}' is not a tenant id (a GUID)")]
    Tenant(String),
    #[error("the extra CA certificates cannot be read: {0}")]
    Certificates(reqwest::Error),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}
