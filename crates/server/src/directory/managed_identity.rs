//! Managed identities: Azure's service principals without a credential,
//! whose tokens only the managed identity endpoints hand out (on their own
//! listener, to code that knows the endpoint's secret). An identity is not
//! an [`App`] of the directory: the token endpoint never finds one, so no
//! client id of an identity can be used there.

use uuid::Uuid;

use super::{Api, App, Permission};

/// Whether an identity belongs to the resource itself (system-assigned:
/// what a request naming no identity gets) or was assigned to it
/// (user-assigned: named by client id, principal id or resource id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    System,
    User,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::System => "system",
            IdentityKind::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<IdentityKind> {
        match text {
            "system" => Some(IdentityKind::System),
            "user" => Some(IdentityKind::User),
            _ => None,
        }
    }
}

/// A managed identity of a tenant (`[[tenants.managed_identities]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentity {
    pub tenant_id: Uuid,
    pub name: String,
    /// The application (client) id: `appid` of its tokens.
    pub client_id: Uuid,
    /// The service principal's object id: `oid` and `sub` of its tokens.
    pub principal_id: Uuid,
    pub kind: IdentityKind,
    /// The application roles granted to it, per API (like an app's).
    pub permissions: Vec<Permission>,
}

impl ManagedIdentity {
    /// The roles `api` defines that the identity was granted on it.
    pub fn roles_on(&self, api: &Api) -> Vec<String> {
        self.permissions
            .iter()
            .find(|p| api.named_by(&p.api))
            .map(|p| {
                p.roles
                    .iter()
                    .filter(|r| api.roles.contains(r))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The identity's service principal as the token issuing path sees an
    /// application: its client id, object id, name and permissions, and no
    /// credential, redirect URI or grant. Made per token, never stored or
    /// found by client id.
    pub fn service_principal(&self) -> App {
        App {
            tenant_id: self.tenant_id,
            client_id: self.client_id,
            name: self.name.clone(),
            object_id: self.principal_id,
            permissions: self.permissions.clone(),
            ..App::default()
        }
    }

    /// Whether an Azure resource id (`mi_res_id`, `msi_res_id`) names this
    /// identity: `…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`,
    /// compared without case as Azure compares resource ids. Latchkey has
    /// no subscriptions or resource groups: only the last two segments
    /// count.
    pub fn named_by_resource_id(&self, resource_id: &str) -> bool {
        let mut segments = resource_id.trim_end_matches('/').rsplit('/');
        let name = segments.next().unwrap_or_default();
        let kind = segments.next().unwrap_or_default();
        kind.eq_ignore_ascii_case("userAssignedIdentities") && name.eq_ignore_ascii_case(&self.name)
    }
}

/// How a request names the identity it wants a token for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySelector {
    /// None named: the system-assigned identity.
    System,
    ClientId(String),
    PrincipalId(String),
    ResourceId(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> ManagedIdentity {
        ManagedIdentity {
            tenant_id: Uuid::nil(),
            name: "Batch-Runner".into(),
            client_id: Uuid::nil(),
            principal_id: Uuid::nil(),
            kind: IdentityKind::User,
            permissions: Vec::new(),
        }
    }

    #[test]
    fn a_resource_id_names_the_identity_by_its_last_segments() {
        let id = identity();
        assert!(id.named_by_resource_id(
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/batch-runner"
        ));
        assert!(id.named_by_resource_id("userassignedidentities/Batch-Runner/"));
        assert!(!id.named_by_resource_id("Batch-Runner"));
        assert!(
            !id.named_by_resource_id("/providers/Microsoft.Compute/virtualMachines/Batch-Runner")
        );
    }
}
