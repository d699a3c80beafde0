//! `GrantStore` on PostgreSQL: the code and refresh grants' reads and
//! decisive writes go through `postgres_grant_batches` (one statement per
//! grant, or per batch of grants under load); the rest are single
//! statements on the pool.

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::grants::{CodeGrant, GrantStore, RefreshGrant};
use super::postgres::PostgresStore;
use super::postgres::sql_impl::{code_from_row, refresh_from_row, user_from_row};
use super::postgres_grant_batches::{RedeemCode, RotateRefreshToken};
use super::sql::from_json;
use super::{AuthCodeRecord, RefreshTokenRecord, Rotation, StoreError};
use crate::directory::{Consent, User};
use crate::secrets::Digest;

#[async_trait]
impl GrantStore for PostgresStore {
    async fn find_code(&self, digest: &Digest) -> Result<Option<AuthCodeRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM auth_codes WHERE code_sha256 = $1")
            .bind(digest.0.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn find_code_grant(&self, digest: &Digest) -> Result<Option<CodeGrant>, StoreError> {
        self.batches.code_grants.call(*digest).await
    }

    async fn find_refresh_grant(
        &self,
        digest: &Digest,
    ) -> Result<Option<RefreshGrant>, StoreError> {
        self.batches.refresh_grants.call(*digest).await
    }

    async fn find_refresh_token(
        &self,
        digest: &Digest,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM refresh_tokens WHERE token_sha256 = $1")
            .bind(digest.0.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    async fn find_user(&self, tenant: Uuid, object_id: Uuid) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND object_id = $2")
            .bind(tenant.to_string())
            .bind(object_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn consents(
        &self,
        tenant: Uuid,
        user: Uuid,
        client: Uuid,
    ) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query("SELECT api, scopes FROM consents WHERE tenant_id = $1 AND user_oid = $2 AND client_id = $3")
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(client.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let api: String = row.try_get("api")?;
                Ok(Consent {
                    tenant_id: tenant,
                    user_oid: user,
                    client_id: client,
                    api: (!api.is_empty()).then_some(api),
                    scopes: from_json(row.try_get("scopes")?)?,
                })
            })
            .collect()
    }

    async fn redeem_code(
        &self,
        digest: &Digest,
        family: Uuid,
        now: i64,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<bool, StoreError> {
        let call = RedeemCode {
            digest: *digest,
            family,
            now,
            refresh: refresh.cloned(),
        };
        self.batches.redemptions.call(call).await
    }

    async fn rotate_refresh_token(
        &self,
        old: &Digest,
        successor: &RefreshTokenRecord,
        now: i64,
        reuse_seconds: i64,
    ) -> Result<Rotation, StoreError> {
        let call = RotateRefreshToken {
            old: *old,
            successor: successor.clone(),
            now,
            reuse_seconds,
        };
        if self.batches.rotations.call(call).await? {
            return Ok(Rotation::Rotated);
        }
        // Refused: say why, and revoke the family of a token reused late
        // (one conditional statement: a second late reuse revokes nothing
        // more).
        let Some(row) = sqlx::query(
            "SELECT family_id, used_at, revoked_at FROM refresh_tokens WHERE token_sha256 = $1",
        )
        .bind(old.0.to_vec())
        .fetch_optional(&self.writer)
        .await?
        else {
            return Ok(Rotation::NotFound);
        };
        let family: String = row.try_get("family_id")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        Ok(match (used_at, revoked_at) {
            (_, Some(_)) => Rotation::Revoked,
            (Some(_), None) => {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(family)
                .execute(&self.writer)
                .await?;
                Rotation::Reused
            }
            (None, None) => Rotation::Expired,
        })
    }
}
