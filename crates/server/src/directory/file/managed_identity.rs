//! `[[tenants.managed_identities]]`: validated into [`ManagedIdentity`]s.

use std::collections::HashSet;

use uuid::Uuid;

use super::raw::RawManagedIdentity;
use super::{DirectoryError, derived_id, find_api, invalid};
use crate::directory::{Api, IdentityKind, ManagedIdentity, Permission};

/// The tenant's managed identities. `client_ids` holds every client id
/// seen so far in the file, the apps' too: a client id names one app or
/// one identity, across the directory.
pub(super) fn validate(
    at: &str,
    tenant_id: Uuid,
    apis: &[Api],
    raw: Vec<RawManagedIdentity>,
    client_ids: &mut HashSet<Uuid>,
) -> Result<Vec<ManagedIdentity>, DirectoryError> {
    let mut identities: Vec<ManagedIdentity> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let at = format!("{at}.managed_identities[{i}]");
        let name = raw.name.trim().to_owned();
        if name.is_empty() || name.contains(['/', '?', '#']) || name.contains(char::is_whitespace) {
            return Err(invalid(
                format!("{at}.name"),
                format!(
                    "'{}' is not a managed identity name (the last segment of its resource id: no spaces or '/')",
                    raw.name
                ),
            ));
        }
        if let Some(other) = identities
            .iter()
            .find(|other| other.name.eq_ignore_ascii_case(&name))
        {
            return Err(invalid(
                &at,
                format!(
                    "name '{}' appears twice (names compare without case)",
                    other.name
                ),
            ));
        }
        let kind = IdentityKind::parse(&raw.kind).ok_or_else(|| {
            invalid(
                format!("{at}.kind"),
                format!(
                    "'{}' is not a kind of managed identity (\"system\" or \"user\")",
                    raw.kind
                ),
            )
        })?;
        if kind == IdentityKind::System
            && let Some(first) = identities.iter().find(|i| i.kind == IdentityKind::System)
        {
            return Err(invalid(
                &at,
                format!(
                    "a tenant has at most one system-assigned identity, and '{}' is one",
                    first.name
                ),
            ));
        }
        if !client_ids.insert(raw.client_id) {
            return Err(invalid(
                &at,
                format!(
                    "client_id {} appears twice (an app's and an identity's client ids are one namespace)",
                    raw.client_id
                ),
            ));
        }
        let principal_id = raw.principal_id.unwrap_or_else(|| {
            derived_id(tenant_id, "managed_identity", &raw.client_id.to_string())
        });
        if identities.iter().any(|i| i.principal_id == principal_id) {
            return Err(invalid(
                format!("{at}.principal_id"),
                format!("principal_id {principal_id} appears twice"),
            ));
        }
        let mut permissions = Vec::with_capacity(raw.permissions.len());
        for (p, permission) in raw.permissions.into_iter().enumerate() {
            let at = format!("{at}.permissions[{p}]");
            let api = find_api(apis, &permission.api, &at)?;
            for role in &permission.roles {
                if !api.roles.contains(role) {
                    return Err(invalid(
                        &at,
                        format!("role '{role}' is not defined by '{}'", api.app_id_uri),
                    ));
                }
            }
            permissions.push(Permission {
                api: permission.api,
                scopes: Vec::new(),
                roles: permission.roles,
            });
        }
        identities.push(ManagedIdentity {
            tenant_id,
            name,
            client_id: raw.client_id,
            principal_id,
            kind,
            permissions,
        });
    }
    Ok(identities)
}
