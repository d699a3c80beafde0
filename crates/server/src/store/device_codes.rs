//! Device authorizations (RFC 8628) in the store: `DeviceCodeStore`, a
//! part of `Store` with a room of its own, expanded for both engines by
//! `device_code_store!` beside `sql_store!`. A person's decision and the
//! redemption are each one conditional `UPDATE`, so a decision is taken
//! once and, of two pollers, exactly one gets the tokens.

use async_trait::async_trait;
use uuid::Uuid;

use super::{RefreshTokenRecord, StoreError};
use crate::secrets::Digest;

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceCodeStatus {
    /// The person has not finished at the device login page.
    Pending,
    /// The person signed in (and consented) at the device login page.
    Approved {
        user_oid: Uuid,
        /// `pwd`, or `pwd mfa` after a second factor.
        auth_methods: String,
    },
    /// The person declined.
    Declined,
    /// The person signed in, but the app requires assignment and does not
    /// admit them: every poll is told so (AADSTS50105), not kept pending.
    NotAssigned,
}

/// A device authorization, known by the digest of its device code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeRecord {
    pub digest: Digest,
    /// The code the person types, normalized (upper case, no separators).
    pub user_code: String,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub resource: String,
    /// The API scopes asked for, space-separated (empty: every one the
    /// app is permitted, as v1 static consent reads it).
    pub scope: String,
    /// The OpenID Connect scopes asked for, space-separated.
    pub oidc_scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub interval_seconds: i64,
    pub status: DeviceCodeStatus,
    /// The previous poll, in milliseconds since the epoch.
    pub last_polled_ms: Option<i64>,
    pub redeemed_at: Option<i64>,
}

#[async_trait]
pub trait DeviceCodeStore {
    /// Stores a new authorization; `false` when its user code is already
    /// taken (the caller draws another).
    async fn insert_device_code(&self, record: &DeviceCodeRecord) -> Result<bool, StoreError>;

    /// The pending, unexpired authorization a user code names.
    async fn pending_device_code(
        &self,
        user_code: &str,
        now: i64,
    ) -> Result<Option<DeviceCodeRecord>, StoreError>;

    /// Records the person's decision (`Approved` or `Declined`, or that
    /// the app does not admit them: `NotAssigned`), once:
    /// `false` when the authorization is no longer pending or has expired.
    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: &DeviceCodeStatus,
        now: i64,
    ) -> Result<bool, StoreError>;

    async fn find_device_code(
        &self,
        digest: &Digest,
    ) -> Result<Option<DeviceCodeRecord>, StoreError>;

    /// Notes a poll at `now_ms` (the next one is paced from it).
    async fn note_device_poll(&self, digest: &Digest, now_ms: i64) -> Result<(), StoreError>;

    /// Redeems an approved, unexpired authorization once, storing the
    /// family's first refresh token in the same transaction; `false` when
    /// another poll redeemed it first.
    async fn redeem_device_code(
        &self,
        digest: &Digest,
        now: i64,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<bool, StoreError>;

    /// Forgets authorizations that expired before `before`.
    async fn delete_expired_device_codes(&self, before: i64) -> Result<(), StoreError>;
}

/// `impl DeviceCodeStore for $store`, in the module `sql_store!` made.
macro_rules! device_code_store {
    ($store:ident, $db:ty, $row:ty) => {
        mod device_code_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::$store;
            use super::sql_impl::insert_refresh;
            use crate::secrets::Digest;
            use crate::store::sql::{digest, uuid};
            use crate::store::{
                DeviceCodeRecord, DeviceCodeStatus, DeviceCodeStore, RefreshTokenRecord, StoreError,
            };

            fn device_code_from_row(row: &$row) -> Result<DeviceCodeRecord, StoreError> {
                let status: String = row.try_get("status")?;
                let user_oid: Option<String> = row.try_get("user_oid")?;
                let auth_methods: Option<String> = row.try_get("auth_methods")?;
                let status = match (status.as_str(), user_oid, auth_methods) {
                    ("pending", _, _) => DeviceCodeStatus::Pending,
                    ("declined", _, _) => DeviceCodeStatus::Declined,
                    ("not_assigned", _, _) => DeviceCodeStatus::NotAssigned,
                    ("approved", Some(oid), Some(auth_methods)) => DeviceCodeStatus::Approved {
                        user_oid: uuid(&oid)?,
                        auth_methods,
                    },
                    (other, _, _) => {
                        return Err(StoreError::Corrupt(format!(
                            "device code status '{other}' without its user"
                        )));
                    }
                };
                Ok(DeviceCodeRecord {
                    digest: digest(row.try_get("device_sha256")?)?,
                    user_code: row.try_get("user_code")?,
                    tenant_id: uuid(row.try_get("tenant_id")?)?,
                    client_id: uuid(row.try_get("client_id")?)?,
                    resource: row.try_get("resource")?,
                    scope: row.try_get("scope")?,
                    oidc_scope: row.try_get("oidc_scope")?,
                    issued_at: row.try_get("issued_at")?,
                    expires_at: row.try_get("expires_at")?,
                    interval_seconds: row.try_get("interval_seconds")?,
                    status,
                    last_polled_ms: row.try_get("last_polled_ms")?,
                    redeemed_at: row.try_get("redeemed_at")?,
                })
            }

            #[async_trait]
            impl DeviceCodeStore for $store {
                async fn insert_device_code(
                    &self,
                    record: &DeviceCodeRecord,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query("INSERT INTO device_codes (device_sha256, user_code, tenant_id, client_id, resource, scope, oidc_scope, issued_at, expires_at, interval_seconds, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending') ON CONFLICT DO NOTHING")
                        .bind(record.digest.0.to_vec())
                        .bind(&record.user_code)
                        .bind(record.tenant_id.to_string())
                        .bind(record.client_id.to_string())
                        .bind(&record.resource)
                        .bind(&record.scope)
                        .bind(&record.oidc_scope)
                        .bind(record.issued_at)
                        .bind(record.expires_at)
                        .bind(record.interval_seconds)
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn pending_device_code(
                    &self,
                    user_code: &str,
                    now: i64,
                ) -> Result<Option<DeviceCodeRecord>, StoreError> {
                    let row = sqlx::query("SELECT * FROM device_codes WHERE user_code = $1 AND status = 'pending' AND expires_at > $2")
                        .bind(user_code)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(device_code_from_row).transpose()
                }

                async fn decide_device_code(
                    &self,
                    user_code: &str,
                    decision: &DeviceCodeStatus,
                    now: i64,
                ) -> Result<bool, StoreError> {
                    let (status, user_oid, auth_methods) = match decision {
                        DeviceCodeStatus::Approved { user_oid, auth_methods } => {
                            ("approved", Some(user_oid.to_string()), Some(auth_methods.as_str()))
                        }
                        DeviceCodeStatus::Declined => ("declined", None, None),
                        DeviceCodeStatus::NotAssigned => ("not_assigned", None, None),
                        DeviceCodeStatus::Pending => return Ok(false),
                    };
                    let done = sqlx::query("UPDATE device_codes SET status = $1, user_oid = $2, auth_methods = $3 WHERE user_code = $4 AND status = 'pending' AND expires_at > $5")
                        .bind(status)
                        .bind(user_oid)
                        .bind(auth_methods)
                        .bind(user_code)
                        .bind(now)
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn find_device_code(
                    &self,
                    digest: &Digest,
                ) -> Result<Option<DeviceCodeRecord>, StoreError> {
                    let row = sqlx::query("SELECT * FROM device_codes WHERE device_sha256 = $1")
                        .bind(digest.0.to_vec())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(device_code_from_row).transpose()
                }

                async fn note_device_poll(
                    &self,
                    digest: &Digest,
                    now_ms: i64,
                ) -> Result<(), StoreError> {
                    sqlx::query("UPDATE device_codes SET last_polled_ms = $1 WHERE device_sha256 = $2")
                        .bind(now_ms)
                        .bind(digest.0.to_vec())
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn redeem_device_code(
                    &self,
                    digest: &Digest,
                    now: i64,
                    refresh: Option<&RefreshTokenRecord>,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.writer.begin_with($store::BEGIN_WRITE).await?;
                    let done = sqlx::query("UPDATE device_codes SET redeemed_at = $1 WHERE device_sha256 = $2 AND status = 'approved' AND redeemed_at IS NULL AND expires_at > $1")
                        .bind(now)
                        .bind(digest.0.to_vec())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    if let Some(token) = refresh {
                        insert_refresh(&mut *tx, token).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn delete_expired_device_codes(&self, before: i64) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM device_codes WHERE expires_at < $1")
                        .bind(before)
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }
            }
        }
    };
}

pub(super) use device_code_store;
