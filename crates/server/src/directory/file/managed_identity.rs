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

#[cfg(test)]
mod tests {
    use crate::directory::{IdentityKind, parse_directory};

    const TENANT: &str = r#"
[[tenants]]
id = "7fe81447-da57-4385-becb-6de57f21477e"
  [[tenants.apis]]
  name = "Files"
  app_id_uri = "https://files.contoso.example/"
  roles = ["Files.ReadAll"]
  [[tenants.apps]]
  client_id = "2d4d11a2-f814-46a7-890a-274a72a7309e"
  name = "Web"
"#;

    fn identity(name: &str, client_id: &str, kind: &str) -> String {
        format!(
            "  [[tenants.managed_identities]]\n  name = \"{name}\"\n  client_id = \"{client_id}\"\n  kind = \"{kind}\"\n"
        )
    }

    fn error_of(extra: &str) -> String {
        parse_directory(&format!("{TENANT}{extra}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn identities_are_read_with_a_stable_principal_id() {
        let text = format!(
            "{TENANT}{}    [[tenants.managed_identities.permissions]]\n    api = \"https://files.contoso.example/\"\n    roles = [\"Files.ReadAll\"]\n{}  principal_id = \"d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6\"\n",
            identity("host", "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "system"),
            identity("batch", "b47c11e0-3d2a-4f5e-9a8b-7c6d5e4f3a2b", "user"),
        );
        let first = parse_directory(&text).unwrap().directory.managed_identities;
        let again = parse_directory(&text).unwrap().directory.managed_identities;
        assert_eq!(first, again);
        assert_eq!(first[0].kind, IdentityKind::System);
        assert_eq!(first[0].permissions[0].roles, ["Files.ReadAll"]);
        assert_eq!(
            first[1].principal_id.to_string(),
            "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"
        );
        assert_ne!(first[0].principal_id, first[0].client_id);
        // Not an app: the token endpoint's view has none of them.
        assert_eq!(parse_directory(&text).unwrap().directory.apps.len(), 1);
    }

    #[test]
    fn a_second_system_identity_is_refused() {
        let err = error_of(&format!(
            "{}{}",
            identity("one", "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "system"),
            identity("two", "b47c11e0-3d2a-4f5e-9a8b-7c6d5e4f3a2b", "system"),
        ));
        assert_eq!(
            err,
            "tenants[0].managed_identities[1]: a tenant has at most one system-assigned identity, and 'one' is one"
        );
    }

    #[test]
    fn a_kind_other_than_system_or_user_is_refused() {
        let err = error_of(&identity(
            "one",
            "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
            "System",
        ));
        assert_eq!(
            err,
            r#"tenants[0].managed_identities[0].kind: 'System' is not a kind of managed identity ("system" or "user")"#
        );
    }

    #[test]
    fn a_client_id_names_one_app_or_one_identity() {
        let err = error_of(&identity(
            "one",
            "2d4d11a2-f814-46a7-890a-274a72a7309e",
            "user",
        ));
        assert_eq!(
            err,
            "tenants[0].managed_identities[0]: client_id 2d4d11a2-f814-46a7-890a-274a72a7309e appears twice (an app's and an identity's client ids are one namespace)"
        );
        let err = error_of(&format!(
            "{}{}",
            identity("one", "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "user"),
            identity("two", "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "user"),
        ));
        assert!(err.starts_with("tenants[0].managed_identities[1]: client_id c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f appears twice"), "{err}");
    }

    #[test]
    fn names_roles_and_keys_are_checked() {
        let err = error_of(&format!(
            "{}{}",
            identity("Batch", "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "user"),
            identity("batch", "b47c11e0-3d2a-4f5e-9a8b-7c6d5e4f3a2b", "user"),
        ));
        assert_eq!(
            err,
            "tenants[0].managed_identities[1]: name 'Batch' appears twice (names compare without case)"
        );
        let err = error_of(&identity(
            "a/b",
            "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
            "user",
        ));
        assert!(
            err.starts_with(
                "tenants[0].managed_identities[0].name: 'a/b' is not a managed identity name"
            ),
            "{err}"
        );
        let with_permission = |api: &str, roles: &str| {
            error_of(&format!(
                "{}    [[tenants.managed_identities.permissions]]\n    api = \"{api}\"\n    {roles}\n",
                identity("one", "c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "user")
            ))
        };
        assert_eq!(
            with_permission(
                "https://files.contoso.example/",
                "roles = [\"Files.Write\"]"
            ),
            "tenants[0].managed_identities[0].permissions[0]: role 'Files.Write' is not defined by 'https://files.contoso.example/'"
        );
        assert_eq!(
            with_permission("https://nowhere.example/", "roles = []"),
            "tenants[0].managed_identities[0].permissions[0]: api 'https://nowhere.example/' is not defined in this tenant"
        );
        // Delegated scopes have no user here: not a key of an identity's permission.
        let err = with_permission(
            "https://files.contoso.example/",
            "scopes = [\"Files.Read\"]",
        );
        assert!(err.contains("unknown field `scopes`"), "{err}");
    }
}
