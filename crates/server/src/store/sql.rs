//! The SQL both engines share: one implementation of `Store`, expanded for
//! SQLite and for PostgreSQL by `sql_store!`, so the two cannot drift
//! apart. Statements use `$N` parameters, which both engines read, and
//! only SQL both speak (`ON CONFLICT … DO UPDATE`, `UPDATE … RETURNING`).

use latchkey_protocol::Profile;
use uuid::Uuid;

use super::StoreError;
use crate::directory::LockoutPolicy;
use crate::secrets::Digest;

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// A certificate as the store keeps it: base64 DER.
pub(super) fn certificate(
    b64: &str,
) -> Result<crate::directory::credentials::Certificate, StoreError> {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| StoreError::Corrupt(format!("certificate: {e}")))?;
    crate::directory::credentials::Certificate::from_der(&der)
        .map_err(|e| StoreError::Corrupt(format!("certificate {e}")))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("JSON column: {e}")))
}

/// `text` with LIKE's wildcards (and the escape character) escaped by `\\`.
pub(super) fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(super) fn uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::try_parse(text).map_err(|_| StoreError::Corrupt(format!("'{text}' is not a GUID")))
}

pub(super) fn digest(bytes: &[u8]) -> Result<Digest, StoreError> {
    Digest::from_slice(bytes).ok_or_else(|| StoreError::Corrupt("a digest is not 32 bytes".into()))
}

pub(super) fn profile_name(profile: Option<Profile>) -> Option<&'static str> {
    profile.map(|p| match p {
        Profile::Azure => "azure",
        Profile::Strict => "strict",
    })
}

/// A stored lockout policy; a column left NULL (a tenant stored before
/// the policy existed) takes the default.
pub(super) fn lockout_policy(threshold: Option<i64>, seconds: Option<i64>) -> LockoutPolicy {
    let defaults = LockoutPolicy::default();
    let positive = |value: Option<i64>, default: u32| {
        value
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(default)
    };
    LockoutPolicy {
        threshold: positive(threshold, defaults.threshold),
        seconds: positive(seconds, defaults.seconds),
    }
}

/// A stored refresh-token reuse interval; NULL (a tenant stored before
/// the setting existed) takes the default.
pub(super) fn reuse_seconds(seconds: Option<i64>) -> u32 {
    seconds
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(crate::directory::DEFAULT_REFRESH_TOKEN_REUSE_SECONDS)
}

/// `impl Store for $store` over the pools `pool` (reads) and `writer`
/// (writes) of database `$db`, with rows `$row`.
macro_rules! sql_store {
    ($store:ident, $db:ty, $row:ty) => {
        pub(super) mod sql_impl {
            use async_trait::async_trait;
            use sqlx::Row;
            use uuid::Uuid;

            use super::$store;
            use crate::directory::{Consent, LockoutPolicy, User};
            use crate::secrets::Digest;
            use crate::store::sql::{
                digest, from_json, like_escaped, to_json, uuid,
            };
            use crate::store::{
                AuthCodeRecord, RefreshTokenRecord, SessionRecord, Store, StoreError,
                StoredKey,
            };

pub(crate) fn user_from_row(row: &$row) -> Result<User, StoreError> {
    Ok(User {
        tenant_id: uuid(row.try_get("tenant_id")?)?,
        object_id: uuid(row.try_get("object_id")?)?,
        upn: row.try_get("upn")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        mfa_enforced: row.try_get::<i64, _>("mfa_enforced")? != 0,
        roles: from_json(row.try_get("roles")?)?,
    })
}

// PostgreSQL's `GrantStore` reads with it; SQLite's reads in place.
#[allow(dead_code)]
pub(crate) fn refresh_from_row(row: &$row) -> Result<RefreshTokenRecord, StoreError> {
    Ok(RefreshTokenRecord {
        digest: digest(row.try_get("token_sha256")?)?,
        family_id: uuid(row.try_get("family_id")?)?,
        tenant_id: uuid(row.try_get("tenant_id")?)?,
        client_id: uuid(row.try_get("client_id")?)?,
        user_oid: uuid(row.try_get("user_oid")?)?,
        resource: row.try_get("resource")?,
        scope: row.try_get("scope")?,
        granted_scope: row.try_get("granted_scope")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
        family_expires_at: row.try_get("family_expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        spa_origin: row.try_get("spa_origin")?,
        auth_methods: row.try_get("auth_methods")?,
    })
}

// PostgreSQL's `GrantStore` reads with it; SQLite's reads in place.
#[allow(dead_code)]
pub(crate) fn code_from_row(row: &$row) -> Result<AuthCodeRecord, StoreError> {
    let family: Option<String> = row.try_get("family_id")?;
    Ok(AuthCodeRecord {
        digest: digest(row.try_get("code_sha256")?)?,
        tenant_id: uuid(row.try_get("tenant_id")?)?,
        client_id: uuid(row.try_get("client_id")?)?,
        redirect_uri: row.try_get("redirect_uri")?,
        spa_origin: row.try_get("spa_origin")?,
        user_oid: uuid(row.try_get("user_oid")?)?,
        resource: row.try_get("resource")?,
        scope: row.try_get("scope")?,
        oidc_scope: row.try_get("oidc_scope")?,
        nonce: row.try_get("nonce")?,
        code_challenge: row.try_get("code_challenge")?,
        auth_methods: row.try_get("auth_methods")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
        redeemed_at: row.try_get("redeemed_at")?,
        family_id: family.as_deref().map(uuid).transpose()?,
    })
}

#[async_trait]
impl Store for $store {
    async fn find_user_by_upn(&self, tenant: Uuid, upn: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND upn = $2")
            .bind(tenant.to_string())
            .bind(upn.to_ascii_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, pkcs8, certificate, created_at, activates_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let alg: String = row.try_get("alg")?;
                Ok(StoredKey {
                    kid: row.try_get("kid")?,
                    alg: alg.parse().map_err(StoreError::Corrupt)?,
                    pkcs8: row.try_get("pkcs8")?,
                    certificate: row.try_get("certificate")?,
                    created_at: row.try_get("created_at")?,
                    activates_at: row.try_get("activates_at")?,
                })
            })
            .collect()
    }

    async fn mac_key(&self, name: &str, fresh: &[u8], now: i64) -> Result<Vec<u8>, StoreError> {
        sqlx::query("INSERT INTO mac_keys (name, key_bytes, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(fresh)
            .bind(now)
            .execute(&self.writer)
            .await?;
        let key: Vec<u8> = sqlx::query_scalar("SELECT key_bytes FROM mac_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
        Ok(key)
    }

    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO signing_keys (kid, alg, pkcs8, certificate, created_at, activates_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kid) DO NOTHING")
            .bind(&key.kid)
            .bind(key.alg.as_str())
            .bind(&key.pkcs8)
            .bind(&key.certificate)
            .bind(key.created_at)
            .bind(key.activates_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError> {
        insert_refresh(&self.writer, token).await
    }

    async fn insert_code(&self, code: &AuthCodeRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO auth_codes (code_sha256, tenant_id, client_id, redirect_uri, user_oid, resource, scope, oidc_scope, nonce, code_challenge, auth_methods, issued_at, expires_at, redeemed_at, family_id, spa_origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, NULL, $14)")
            .bind(code.digest.0.to_vec())
            .bind(code.tenant_id.to_string())
            .bind(code.client_id.to_string())
            .bind(&code.redirect_uri)
            .bind(code.user_oid.to_string())
            .bind(&code.resource)
            .bind(&code.scope)
            .bind(&code.oidc_scope)
            .bind(&code.nonce)
            .bind(&code.code_challenge)
            .bind(&code.auth_methods)
            .bind(code.issued_at)
            .bind(code.expires_at)
            .bind(&code.spa_origin)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        insert_session(&self.writer, session).await
    }

    async fn rotate_session(&self, old: &Digest, new: &SessionRecord) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin_with($store::BEGIN_WRITE).await?;
        let done = sqlx::query("DELETE FROM sessions WHERE session_sha256 = $1")
            .bind(old.0.to_vec())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_session(&mut *tx, new).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn find_session(
        &self,
        digest: &Digest,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM sessions WHERE session_sha256 = $1 AND expires_at > $2")
                .bind(digest.0.to_vec())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref()
            .map(|row| {
                Ok(SessionRecord {
                    digest: *digest,
                    tenant_id: uuid(row.try_get("tenant_id")?)?,
                    user_oid: uuid(row.try_get("user_oid")?)?,
                    mfa_at: row.try_get("mfa_at")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    client_ids: row
                        .try_get::<String, _>("client_ids")?
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                })
            })
            .transpose()
    }

    async fn revoke_user_sign_ins(
        &self,
        tenant: Uuid,
        user_oid: Uuid,
        now: i64,
    ) -> Result<(u64, u64), StoreError> {
        let mut tx = self.writer.begin_with($store::BEGIN_WRITE).await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_oid = $2")
            .bind(tenant.to_string())
            .bind(user_oid.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let tokens = sqlx::query("UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_oid = $2 AND revoked_at IS NULL AND expires_at > $3")
            .bind(tenant.to_string())
            .bind(user_oid.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((sessions, tokens))
    }

    async fn add_session_client(
        &self,
        digest: &Digest,
        client_id: &str,
    ) -> Result<(), StoreError> {
        // One statement: the check and the append cannot interleave with
        // another request's. Client ids are GUIDs, but LIKE's wildcards
        // are escaped all the same.
        let pattern = format!("% {} %", like_escaped(client_id));
        sqlx::query("UPDATE sessions SET client_ids = client_ids || ' ' || $1 || ' ' WHERE session_sha256 = $2 AND client_ids NOT LIKE $3 ESCAPE '\\'")
            .bind(client_id)
            .bind(digest.0.to_vec())
            .bind(pattern)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn set_session_mfa(&self, digest: &Digest, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET mfa_at = $1 WHERE session_sha256 = $2")
            .bind(now)
            .bind(digest.0.to_vec())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, digest: &Digest) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE session_sha256 = $1")
            .bind(digest.0.to_vec())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn grant_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with($store::BEGIN_WRITE).await?;
        let api = consent.api.clone().unwrap_or_default();
        let existing: Option<String> = sqlx::query_scalar("SELECT scopes FROM consents WHERE tenant_id = $1 AND user_oid = $2 AND client_id = $3 AND api = $4")
            .bind(consent.tenant_id.to_string())
            .bind(consent.user_oid.to_string())
            .bind(consent.client_id.to_string())
            .bind(&api)
            .fetch_optional(&mut *tx)
            .await?;
        let mut scopes: Vec<String> = existing
            .as_deref()
            .map(from_json)
            .transpose()?
            .unwrap_or_default();
        for scope in &consent.scopes {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        sqlx::query("INSERT INTO consents (tenant_id, user_oid, client_id, api, scopes) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, user_oid, client_id, api) DO UPDATE SET scopes = excluded.scopes")
            .bind(consent.tenant_id.to_string())
            .bind(consent.user_oid.to_string())
            .bind(consent.client_id.to_string())
            .bind(&api)
            .bind(to_json(&scopes))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_refresh_family(&self, family: Uuid, now: i64) -> Result<(), StoreError> {
        revoke_family(&self.writer, family, now).await
    }

    async fn locked_until(&self, tenant: Uuid, upn: &str) -> Result<i64, StoreError> {
        let until: Option<i64> = sqlx::query_scalar("SELECT locked_until FROM sign_in_attempts WHERE tenant_id = $1 AND upn = $2")
            .bind(tenant.to_string())
            .bind(upn)
            .fetch_optional(&self.pool)
            .await?;
        Ok(until.unwrap_or(0))
    }

    async fn begin_sign_in_attempt(
        &self,
        tenant: Uuid,
        upn: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Option<i64>, StoreError> {
        // One statement counts and decides, for a new name or a known one:
        // concurrent attempts each count, exactly one reaches the
        // threshold, and none passes a lock. The lockout doubles with each
        // one since the last success, up to 64 times.
        let until: Option<i64> = sqlx::query_scalar("INSERT INTO sign_in_attempts AS a (tenant_id, upn, failures, lockouts, locked_until, last_failure_at) VALUES ($1, $2, CASE WHEN 1 >= $3 THEN 0 ELSE 1 END, CASE WHEN 1 >= $3 THEN 1 ELSE 0 END, CASE WHEN 1 >= $3 THEN $4 + $5 ELSE 0 END, $4) ON CONFLICT (tenant_id, upn) DO UPDATE SET failures = CASE WHEN a.failures + 1 >= $3 THEN 0 ELSE a.failures + 1 END, lockouts = CASE WHEN a.failures + 1 >= $3 THEN a.lockouts + 1 ELSE a.lockouts END, locked_until = CASE WHEN a.failures + 1 >= $3 THEN $4 + $5 * (CASE a.lockouts WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 4 WHEN 3 THEN 8 WHEN 4 THEN 16 WHEN 5 THEN 32 ELSE 64 END) ELSE a.locked_until END, last_failure_at = $4 WHERE a.locked_until <= $4 RETURNING locked_until")
            .bind(tenant.to_string())
            .bind(upn)
            .bind(i64::from(policy.threshold))
            .bind(now)
            .bind(i64::from(policy.seconds))
            .fetch_optional(&self.writer)
            .await?;
        Ok(until.map(|until| if until > now { until } else { 0 }))
    }

    async fn refund_sign_in_attempt(&self, tenant: Uuid, upn: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sign_in_attempts SET failures = failures - 1 WHERE tenant_id = $1 AND upn = $2 AND failures > 0")
            .bind(tenant.to_string())
            .bind(upn)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn record_sign_in_success(&self, tenant: Uuid, upn: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sign_in_attempts SET failures = 0, lockouts = 0, locked_until = 0 WHERE tenant_id = $1 AND upn = $2 AND (failures > 0 OR lockouts > 0 OR locked_until > 0)")
            .bind(tenant.to_string())
            .bind(upn)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn use_totp_step(&self, tenant: Uuid, upn: &str, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("INSERT INTO sign_in_attempts AS a (tenant_id, upn, totp_step) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, upn) DO UPDATE SET totp_step = excluded.totp_step WHERE a.totp_step IS NULL OR a.totp_step < excluded.totp_step")
            .bind(tenant.to_string())
            .bind(upn)
            .bind(step)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn prune_sign_in_attempts(&self, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_attempts WHERE totp_step IS NULL AND locked_until < $1 AND last_failure_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

pub(super) async fn insert_refresh<'e, E>(executor: E, token: &RefreshTokenRecord) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = $db>,
{
    let sql = format!(
        "INSERT INTO refresh_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        crate::store::grants::REFRESH_COLUMNS
    );
    bind_refresh(sqlx::query(&sql), token).execute(executor).await?;
    Ok(())
}

/// Binds `token`'s values, in `REFRESH_COLUMNS`' order, after what `query`
/// has bound already.
pub(crate) fn bind_refresh<'q>(
    query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
    token: &'q RefreshTokenRecord,
) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
    query
        .bind(token.digest.0.to_vec())
        .bind(token.family_id.to_string())
        .bind(token.tenant_id.to_string())
        .bind(token.client_id.to_string())
        .bind(token.user_oid.to_string())
        .bind(&token.resource)
        .bind(&token.scope)
        .bind(token.issued_at)
        .bind(token.expires_at)
        .bind(token.used_at)
        .bind(token.revoked_at)
        .bind(&token.granted_scope)
        .bind(token.family_expires_at)
        .bind(&token.spa_origin)
        .bind(&token.auth_methods)
}

async fn insert_session<'e, E>(executor: E, session: &SessionRecord) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = $db>,
{
    let client_ids: String = session.client_ids.iter().map(|id| format!(" {id} ")).collect();
    sqlx::query("INSERT INTO sessions (session_sha256, tenant_id, user_oid, mfa_at, created_at, expires_at, client_ids) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(session.digest.0.to_vec())
        .bind(session.tenant_id.to_string())
        .bind(session.user_oid.to_string())
        .bind(session.mfa_at)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(client_ids)
        .execute(executor)
        .await?;
    Ok(())
}

async fn revoke_family<'e, E>(executor: E, family: Uuid, now: i64) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = $db>,
{
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family.to_string())
    .execute(executor)
    .await?;
    Ok(())
}

        }
    };
}

pub(super) use sql_store;
