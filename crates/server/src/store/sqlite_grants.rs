//! `GrantStore` on SQLite: each grant one call on the writer thread
//! (`sqlite_writer`), its statements prepared once; the reads in place
//! (`sqlite_readers`). The statements are the ones the PostgreSQL engine
//! runs, so both engines decide the same races.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use std::sync::LazyLock;

use super::grants::{
    CodeGrant, GrantStore, REFRESH_COLUMNS, RefreshGrant, code_grant_sql, joined_consent,
    refresh_grant_sql,
};
use super::sql::{digest as to_digest, from_json, uuid as to_uuid};
use super::{AuthCodeRecord, RefreshTokenRecord, Rotation, SqliteStore, StoreError};
use crate::directory::{Consent, User};
use crate::secrets::Digest;

#[async_trait]
impl GrantStore for SqliteStore {
    async fn find_code(&self, digest: &Digest) -> Result<Option<AuthCodeRecord>, StoreError> {
        self.readers.read(|conn| {
            conn.prepare_cached("SELECT * FROM auth_codes WHERE code_sha256 = ?1")?
                .query_row(params![&digest.0[..]], |row| Ok(code_from_row(row)))
                .optional()?
                .transpose()
        })
    }

    /// One statement, so one read transaction: each transaction on a
    /// reader begins by finding what changed since its last one, and under
    /// writes that means its cached pages are read again.
    async fn find_code_grant(&self, digest: &Digest) -> Result<Option<CodeGrant>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| code_grant_sql("= ?1"));
        self.read_grant(|conn| {
            conn.prepare_cached(&SQL)?
                .query_row(params![&digest.0[..]], |row| Ok(code_grant_from_row(row)))
                .optional()?
                .transpose()
        })
    }

    /// One statement, as `find_code_grant`: a row per consent.
    async fn find_refresh_grant(
        &self,
        digest: &Digest,
    ) -> Result<Option<RefreshGrant>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| refresh_grant_sql("= ?1"));
        self.read_grant(|conn| {
            let mut statement = conn.prepare_cached(&SQL)?;
            let mut rows = statement.query(params![&digest.0[..]])?;
            let mut grant: Option<RefreshGrant> = None;
            while let Some(row) = rows.next()? {
                let grant = match &mut grant {
                    Some(grant) => grant,
                    None => grant.insert(RefreshGrant {
                        token: refresh_from_row(row)?,
                        user: joined_user(row)?,
                        consents: Vec::new(),
                    }),
                };
                if let Some(api) = row.get::<_, Option<String>>("consent_api")? {
                    let scopes = text(row, "consent_scopes")?;
                    grant
                        .consents
                        .push(joined_consent(&grant.token, api, &scopes)?);
                }
            }
            Ok(grant)
        })
    }

    async fn find_refresh_token(
        &self,
        digest: &Digest,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.readers.read(|conn| {
            conn.prepare_cached("SELECT * FROM refresh_tokens WHERE token_sha256 = ?1")?
                .query_row(params![&digest.0[..]], |row| Ok(refresh_from_row(row)))
                .optional()?
                .transpose()
        })
    }

    async fn find_user(&self, tenant: Uuid, object_id: Uuid) -> Result<Option<User>, StoreError> {
        self.readers.read(|conn| {
            conn.prepare_cached("SELECT * FROM users WHERE tenant_id = ?1 AND object_id = ?2")?
                .query_row(params![tenant.to_string(), object_id.to_string()], |row| {
                    Ok(user_from_row(row))
                })
                .optional()?
                .transpose()
        })
    }

    async fn consents(
        &self,
        tenant: Uuid,
        user: Uuid,
        client: Uuid,
    ) -> Result<Vec<Consent>, StoreError> {
        self.readers.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT api, scopes FROM consents WHERE tenant_id = ?1 AND user_oid = ?2 AND client_id = ?3",
            )?;
            let rows = statement.query_map(
                params![tenant.to_string(), user.to_string(), client.to_string()],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )?;
            rows.map(|row| {
                let (api, scopes) = row?;
                Ok(Consent {
                    tenant_id: tenant,
                    user_oid: user,
                    client_id: client,
                    api: (!api.is_empty()).then_some(api),
                    scopes: from_json(&scopes)?,
                })
            })
            .collect()
        })
    }

    async fn redeem_code(
        &self,
        digest: &Digest,
        family: Uuid,
        now: i64,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<bool, StoreError> {
        let digest = digest.0;
        let refresh = refresh.cloned();
        self.grants
            .run(move |conn| {
                let redeemed = conn
                    .prepare_cached("UPDATE auth_codes SET redeemed_at = ?1, family_id = ?2 WHERE code_sha256 = ?3 AND redeemed_at IS NULL AND expires_at > ?1")?
                    .execute(params![now, family.to_string(), &digest[..]])?;
                if redeemed != 1 {
                    return Ok(false);
                }
                if let Some(token) = &refresh {
                    insert_refresh(conn, token)?;
                }
                Ok(true)
            })
            .await
    }

    async fn rotate_refresh_token(
        &self,
        old: &Digest,
        successor: &RefreshTokenRecord,
        now: i64,
        reuse_seconds: i64,
    ) -> Result<Rotation, StoreError> {
        let old = old.0;
        let successor = successor.clone();
        self.grants
            .run(move |conn| {
                // The one statement that decides (see the PostgreSQL form):
                // the writer thread runs one grant at a time, so the second
                // of two rotations reads the first's `used_at`.
                let consumed = conn
                    .prepare_cached("UPDATE refresh_tokens SET used_at = COALESCE(used_at, ?1) WHERE token_sha256 = ?2 AND revoked_at IS NULL AND expires_at > ?1 AND (used_at IS NULL OR (?3 > 0 AND used_at > ?1 - ?3))")?
                    .execute(params![now, &old[..], reuse_seconds])?;
                if consumed == 1 {
                    insert_refresh(conn, &successor)?;
                    return Ok(Rotation::Rotated);
                }
                let found = conn
                    .prepare_cached("SELECT family_id, used_at, revoked_at FROM refresh_tokens WHERE token_sha256 = ?1")?
                    .query_row(params![&old[..]], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, Option<i64>>(1)?,
                            row.get::<_, Option<i64>>(2)?,
                        ))
                    })
                    .optional()?;
                Ok(match found {
                    None => Rotation::NotFound,
                    Some((_, _, Some(_))) => Rotation::Revoked,
                    Some((family, Some(_), None)) => {
                        conn.prepare_cached("UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL")?
                            .execute(params![now, family])?;
                        Rotation::Reused
                    }
                    Some((_, None, None)) => Rotation::Expired,
                })
            })
            .await
    }
}

impl SqliteStore {
    /// A grant's read: on the writer's connection if it is free (its cache
    /// holds the pages the grants write), on a reader's otherwise.
    fn read_grant<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.grants.read_if_free(read) {
            Ok(result) => result,
            Err(read) => self.readers.read(read),
        }
    }
}

fn insert_refresh(conn: &Connection, token: &RefreshTokenRecord) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))?
    .execute(params![
        &token.digest.0[..],
        token.family_id.to_string(),
        token.tenant_id.to_string(),
        token.client_id.to_string(),
        token.user_oid.to_string(),
        token.resource,
        token.scope,
        token.issued_at,
        token.expires_at,
        token.used_at,
        token.revoked_at,
        token.granted_scope,
        token.family_expires_at,
        token.spa_origin,
        token.auth_methods,
    ])?;
    Ok(())
}

fn text(row: &Row<'_>, name: &str) -> Result<String, StoreError> {
    Ok(row.get::<_, String>(name)?)
}

fn code_from_row(row: &Row<'_>) -> Result<AuthCodeRecord, StoreError> {
    let family: Option<String> = row.get("family_id")?;
    Ok(AuthCodeRecord {
        digest: to_digest(&row.get::<_, Vec<u8>>("code_sha256")?)?,
        tenant_id: to_uuid(&text(row, "tenant_id")?)?,
        client_id: to_uuid(&text(row, "client_id")?)?,
        redirect_uri: row.get("redirect_uri")?,
        spa_origin: row.get("spa_origin")?,
        user_oid: to_uuid(&text(row, "user_oid")?)?,
        resource: row.get("resource")?,
        scope: row.get("scope")?,
        oidc_scope: row.get("oidc_scope")?,
        nonce: row.get("nonce")?,
        code_challenge: row.get("code_challenge")?,
        auth_methods: row.get("auth_methods")?,
        issued_at: row.get("issued_at")?,
        expires_at: row.get("expires_at")?,
        redeemed_at: row.get("redeemed_at")?,
        family_id: family.as_deref().map(to_uuid).transpose()?,
    })
}

fn code_grant_from_row(row: &Row<'_>) -> Result<CodeGrant, StoreError> {
    Ok(CodeGrant {
        code: code_from_row(row)?,
        user: joined_user(row)?,
    })
}

/// The user of a joined row, if the join found one.
fn joined_user(row: &Row<'_>) -> Result<Option<User>, StoreError> {
    let found: Option<String> = row.get("object_id")?;
    found.map(|_| user_from_row(row)).transpose()
}

fn refresh_from_row(row: &Row<'_>) -> Result<RefreshTokenRecord, StoreError> {
    Ok(RefreshTokenRecord {
        digest: to_digest(&row.get::<_, Vec<u8>>("token_sha256")?)?,
        family_id: to_uuid(&text(row, "family_id")?)?,
        tenant_id: to_uuid(&text(row, "tenant_id")?)?,
        client_id: to_uuid(&text(row, "client_id")?)?,
        user_oid: to_uuid(&text(row, "user_oid")?)?,
        resource: row.get("resource")?,
        scope: row.get("scope")?,
        granted_scope: row.get("granted_scope")?,
        issued_at: row.get("issued_at")?,
        expires_at: row.get("expires_at")?,
        family_expires_at: row.get("family_expires_at")?,
        used_at: row.get("used_at")?,
        revoked_at: row.get("revoked_at")?,
        spa_origin: row.get("spa_origin")?,
        auth_methods: row.get("auth_methods")?,
    })
}

fn user_from_row(row: &Row<'_>) -> Result<User, StoreError> {
    Ok(User {
        tenant_id: to_uuid(&text(row, "tenant_id")?)?,
        object_id: to_uuid(&text(row, "object_id")?)?,
        upn: row.get("upn")?,
        display_name: row.get("display_name")?,
        password_hash: row.get("password_hash")?,
        totp_secret: row.get("totp_secret")?,
        mfa_enforced: row.get::<_, i64>("mfa_enforced")? != 0,
        roles: from_json(&text(row, "roles")?)?,
    })
}
