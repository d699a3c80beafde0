//! The directory in the store: `DirectoryStore`, the part of `Store` that
//! writes a directory file's tenants, APIs, apps, managed identities, users
//! and consents, and reads back what every replica holds in memory (not
//! users). A room of its own, expanded for both engines by
//! `directory_store!` beside `sql_store!`; the same SQL on both.

use async_trait::async_trait;

use super::StoreError;
use crate::directory::DirectoryData;

#[async_trait]
pub trait DirectoryStore {
    /// Makes every tenant, API, app, user, consent and managed identity in
    /// `data` exactly as given (insert or replace), in one transaction.
    /// Entries the data does not name are left alone, except a tenant's
    /// system-assigned identity, which a new one replaces (a tenant has at
    /// most one).
    async fn apply_directory(&self, data: &DirectoryData) -> Result<(), StoreError>;

    /// Tenants, APIs, apps and managed identities (not users: they may be
    /// millions).
    async fn load_directory(&self) -> Result<DirectoryData, StoreError>;
}

/// `impl DirectoryStore for $store`, beside `sql_store!`.
macro_rules! directory_store {
    ($store:ident, $db:ty, $row:ty) => {
        mod directory_impl {
            use async_trait::async_trait;
            use latchkey_protocol::GrantType;
            use sqlx::Row;

            use super::$store;
            use crate::directory::{
                Api, App, DirectoryData, IdentityKind, ManagedIdentity, Permission, Tenant,
            };
            use crate::store::sql::{
                certificate, digest, from_json, lockout_policy, profile_name, reuse_seconds, to_json,
                uuid,
            };
            use crate::store::{DirectoryStore, StoreError};

            #[async_trait]
            impl DirectoryStore for $store {
    async fn apply_directory(&self, data: &DirectoryData) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with($store::BEGIN_WRITE).await?;
        for tenant in &data.tenants {
            sqlx::query("INSERT INTO tenants (id, name, profile, lockout_threshold, lockout_seconds, refresh_token_reuse_seconds, signing_alg) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, profile = excluded.profile, lockout_threshold = excluded.lockout_threshold, lockout_seconds = excluded.lockout_seconds, refresh_token_reuse_seconds = excluded.refresh_token_reuse_seconds, signing_alg = excluded.signing_alg")
                .bind(tenant.id.to_string())
                .bind(&tenant.name)
                .bind(profile_name(tenant.profile))
                .bind(i64::from(tenant.lockout.threshold))
                .bind(i64::from(tenant.lockout.seconds))
                .bind(i64::from(tenant.refresh_token_reuse_seconds))
                .bind(tenant.signing_alg.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM tenant_domains WHERE tenant_id = $1")
                .bind(tenant.id.to_string())
                .execute(&mut *tx)
                .await?;
            for domain in &tenant.domains {
                sqlx::query("INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2) ON CONFLICT (domain) DO UPDATE SET tenant_id = excluded.tenant_id")
                    .bind(domain)
                    .bind(tenant.id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for api in &data.apis {
            sqlx::query("INSERT INTO apis (tenant_id, app_id_uri, name, scopes, roles, app_id, access_token_version, require_mfa) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, app_id_uri) DO UPDATE SET name = excluded.name, scopes = excluded.scopes, roles = excluded.roles, app_id = excluded.app_id, access_token_version = excluded.access_token_version, require_mfa = excluded.require_mfa")
                .bind(api.tenant_id.to_string())
                .bind(&api.app_id_uri)
                .bind(&api.name)
                .bind(to_json(&api.scopes))
                .bind(to_json(&api.roles))
                .bind(api.app_id.map(|id| id.to_string()))
                .bind(api.access_token_version.map(|v| match v {
                    latchkey_protocol::Version::V1 => 1_i64,
                    latchkey_protocol::Version::V2 => 2_i64,
                }))
                .bind(i64::from(api.require_mfa))
                .execute(&mut *tx)
                .await?;
        }
        for app in &data.apps {
            let grants: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
            sqlx::query("INSERT INTO apps (client_id, tenant_id, name, object_id, secret_sha256, redirect_uris, grant_types, permissions, spa_redirect_uris, assignment_required, assigned_users, certificates, federated_credentials, single_use_assertions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (client_id) DO UPDATE SET tenant_id = excluded.tenant_id, name = excluded.name, object_id = excluded.object_id, secret_sha256 = excluded.secret_sha256, redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types, permissions = excluded.permissions, spa_redirect_uris = excluded.spa_redirect_uris, assignment_required = excluded.assignment_required, assigned_users = excluded.assigned_users, certificates = excluded.certificates, federated_credentials = excluded.federated_credentials, single_use_assertions = excluded.single_use_assertions")
                .bind(app.client_id.to_string())
                .bind(app.tenant_id.to_string())
                .bind(&app.name)
                .bind(app.object_id.to_string())
                .bind(app.secret.map(|d| d.0.to_vec()))
                .bind(to_json(&app.redirect_uris))
                .bind(to_json(&grants))
                .bind(to_json(&app.permissions))
                .bind(to_json(&app.spa_redirect_uris))
                .bind(app.assignment_required)
                .bind(to_json(&app.assigned_users))
                .bind(to_json(&app.certificates.iter().map(|c| c.to_base64()).collect::<Vec<_>>()))
                .bind(to_json(&app.federated_credentials))
                .bind(app.single_use_assertions)
                .execute(&mut *tx)
                .await?;
        }
        for user in &data.users {
            sqlx::query("INSERT INTO users (tenant_id, object_id, upn, display_name, password_hash, totp_secret, roles, mfa_enforced) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, object_id) DO UPDATE SET upn = excluded.upn, display_name = excluded.display_name, password_hash = excluded.password_hash, totp_secret = excluded.totp_secret, roles = excluded.roles, mfa_enforced = excluded.mfa_enforced")
                .bind(user.tenant_id.to_string())
                .bind(user.object_id.to_string())
                .bind(&user.upn)
                .bind(&user.display_name)
                .bind(&user.password_hash)
                .bind(&user.totp_secret)
                .bind(to_json(&user.roles))
                .bind(i64::from(user.mfa_enforced))
                .execute(&mut *tx)
                .await?;
        }
        for identity in &data.managed_identities {
            if identity.kind == IdentityKind::System {
                // At most one system-assigned identity per tenant: the
                // file's replaces the one stored before.
                sqlx::query("DELETE FROM managed_identities WHERE tenant_id = $1 AND kind = 'system' AND client_id <> $2")
                    .bind(identity.tenant_id.to_string())
                    .bind(identity.client_id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO managed_identities (client_id, tenant_id, name, principal_id, kind, permissions) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET tenant_id = excluded.tenant_id, name = excluded.name, principal_id = excluded.principal_id, kind = excluded.kind, permissions = excluded.permissions")
                .bind(identity.client_id.to_string())
                .bind(identity.tenant_id.to_string())
                .bind(&identity.name)
                .bind(identity.principal_id.to_string())
                .bind(identity.kind.as_str())
                .bind(to_json(&identity.permissions))
                .execute(&mut *tx)
                .await?;
        }
        for consent in &data.consents {
            sqlx::query("INSERT INTO consents (tenant_id, user_oid, client_id, api, scopes) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, user_oid, client_id, api) DO UPDATE SET scopes = excluded.scopes")
                .bind(consent.tenant_id.to_string())
                .bind(consent.user_oid.to_string())
                .bind(consent.client_id.to_string())
                .bind(consent.api.clone().unwrap_or_default())
                .bind(to_json(&consent.scopes))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_directory(&self) -> Result<DirectoryData, StoreError> {
        let mut data = DirectoryData::default();
        let domains = sqlx::query("SELECT domain, tenant_id FROM tenant_domains ORDER BY domain")
            .fetch_all(&self.pool)
            .await?;
        for row in sqlx::query("SELECT id, name, profile, lockout_threshold, lockout_seconds, refresh_token_reuse_seconds, signing_alg FROM tenants ORDER BY id")
            .fetch_all(&self.pool)
            .await?
        {
            let id: String = row.try_get("id")?;
            let profile: Option<String> = row.try_get("profile")?;
            data.tenants.push(Tenant {
                id: uuid(&id)?,
                name: row.try_get("name")?,
                domains: domains
                    .iter()
                    .filter(|d| d.get::<String, _>("tenant_id") == id)
                    .map(|d| d.get::<String, _>("domain"))
                    .collect(),
                profile: profile
                    .map(|p| p.parse())
                    .transpose()
                    .map_err(StoreError::Corrupt)?,
                lockout: lockout_policy(
                    row.try_get("lockout_threshold")?,
                    row.try_get("lockout_seconds")?,
                ),
                refresh_token_reuse_seconds: reuse_seconds(
                    row.try_get("refresh_token_reuse_seconds")?,
                ),
                signing_alg: row
                    .try_get::<String, _>("signing_alg")?
                    .parse()
                    .map_err(StoreError::Corrupt)?,
            });
        }
        for row in sqlx::query("SELECT tenant_id, app_id_uri, name, scopes, roles, app_id, access_token_version, require_mfa FROM apis ORDER BY tenant_id, app_id_uri")
            .fetch_all(&self.pool)
            .await?
        {
            data.apis.push(Api {
                tenant_id: uuid(row.try_get("tenant_id")?)?,
                app_id_uri: row.try_get("app_id_uri")?,
                name: row.try_get("name")?,
                scopes: from_json(row.try_get("scopes")?)?,
                roles: from_json(row.try_get("roles")?)?,
                app_id: row
                    .try_get::<Option<String>, _>("app_id")?
                    .map(|id| uuid(&id))
                    .transpose()?,
                access_token_version: match row
                    .try_get::<Option<i64>, _>("access_token_version")?
                {
                    None => None,
                    Some(1) => Some(latchkey_protocol::Version::V1),
                    Some(2) => Some(latchkey_protocol::Version::V2),
                    Some(other) => {
                        return Err(StoreError::Corrupt(format!(
                            "{other} is not an access token version"
                        )));
                    }
                },
                require_mfa: row.try_get::<i64, _>("require_mfa")? != 0,
            });
        }
        for row in sqlx::query("SELECT * FROM apps")
            .fetch_all(&self.pool)
            .await?
        {
            let grants: Vec<String> = from_json(row.try_get("grant_types")?)?;
            let secret: Option<Vec<u8>> = row.try_get("secret_sha256")?;
            data.apps.push(App {
                tenant_id: uuid(row.try_get("tenant_id")?)?,
                client_id: uuid(row.try_get("client_id")?)?,
                name: row.try_get("name")?,
                object_id: uuid(row.try_get("object_id")?)?,
                secret: secret.as_deref().map(digest).transpose()?,
                redirect_uris: from_json(row.try_get("redirect_uris")?)?,
                spa_redirect_uris: from_json(row.try_get("spa_redirect_uris")?)?,
                grant_types: grants
                    .iter()
                    .map(|g| {
                        GrantType::parse(g)
                            .ok_or_else(|| StoreError::Corrupt(format!("grant type '{g}'")))
                    })
                    .collect::<Result<_, _>>()?,
                permissions: from_json::<Vec<Permission>>(row.try_get("permissions")?)?,
                assignment_required: row.try_get("assignment_required")?,
                assigned_users: from_json(row.try_get("assigned_users")?)?,
                certificates: from_json::<Vec<String>>(row.try_get("certificates")?)?
                    .iter()
                    .map(|b64| certificate(b64))
                    .collect::<Result<_, _>>()?,
                federated_credentials: from_json(row.try_get("federated_credentials")?)?,
                single_use_assertions: row.try_get("single_use_assertions")?,
            });
        }
        for row in sqlx::query("SELECT client_id, tenant_id, name, principal_id, kind, permissions FROM managed_identities ORDER BY tenant_id, client_id")
            .fetch_all(&self.pool)
            .await?
        {
            let kind: String = row.try_get("kind")?;
            data.managed_identities.push(ManagedIdentity {
                tenant_id: uuid(row.try_get("tenant_id")?)?,
                name: row.try_get("name")?,
                client_id: uuid(row.try_get("client_id")?)?,
                principal_id: uuid(row.try_get("principal_id")?)?,
                kind: IdentityKind::parse(&kind).ok_or_else(|| {
                    StoreError::Corrupt(format!("'{kind}' is not a kind of managed identity"))
                })?,
                permissions: from_json::<Vec<Permission>>(row.try_get("permissions")?)?,
            });
        }
        Ok(data)
    }

            }
        }
    };
}

pub(super) use directory_store;
