//! Azure AD's instance discovery document
//! (`/common/discovery/instance?api-version=1.1&authorization_endpoint=…`),
//! which MSAL asks about an authority whose host it does not know.

use serde::{Deserialize, Serialize};

/// The document: where the authority's OpenID configuration is, and the
/// host names that are one cloud (their aliases share a token cache).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceDiscovery {
    pub tenant_discovery_endpoint: String,
    #[serde(rename = "api-version")]
    pub api_version: String,
    pub metadata: Vec<InstanceMetadata>,
}

/// One cloud's host names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceMetadata {
    pub preferred_network: String,
    pub preferred_cache: String,
    pub aliases: Vec<String>,
}

impl InstanceDiscovery {
    pub fn to_json(&self) -> String {
        // Strings only: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
