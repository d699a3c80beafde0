//! `GrantStore` on PostgreSQL: each grant is one statement, so one round
//! trip and no explicit transaction. A data-modifying `WITH` marks the code
//! (or the refresh token) used and inserts the new refresh token only if
//! that row was marked: the row lock decides a race exactly as the
//! two-statement transaction did (the loser waits, then re-reads the row
//! and matches nothing). sqlx prepares each statement once per connection.

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::grants::{GrantStore, REFRESH_COLUMNS};
use super::postgres::PostgresStore;
use super::postgres::sql_impl::{bind_refresh, code_from_row, refresh_from_row, user_from_row};
use super::sql::from_json;
use super::{AuthCodeRecord, RefreshTokenRecord, Rotation, StoreError};
use crate::directory::{Consent, User};
use crate::secrets::Digest;

/// The refresh token's values as parameters `$n`…`$n+14`, in
/// `REFRESH_COLUMNS`' order.
fn refresh_values(first: usize) -> String {
    (first..first + 15)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl GrantStore for PostgresStore {
    async fn find_code(&self, digest: &Digest) -> Result<Option<AuthCodeRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM auth_codes WHERE code_sha256 = $1")
            .bind(digest.0.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(code_from_row).transpose()
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
        const REDEEM: &str = "UPDATE auth_codes SET redeemed_at = $1, family_id = $2 WHERE code_sha256 = $3 AND redeemed_at IS NULL AND expires_at > $1";
        let Some(token) = refresh else {
            let done = sqlx::query(REDEEM)
                .bind(now)
                .bind(family.to_string())
                .bind(digest.0.to_vec())
                .execute(&self.writer)
                .await?;
            return Ok(done.rows_affected() == 1);
        };
        let sql = format!(
            "WITH redeemed AS ({REDEEM} RETURNING 1) INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) SELECT {} FROM redeemed",
            refresh_values(4)
        );
        let query = sqlx::query(&sql)
            .bind(now)
            .bind(family.to_string())
            .bind(digest.0.to_vec());
        let done = bind_refresh(query, token).execute(&self.writer).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn rotate_refresh_token(
        &self,
        old: &Digest,
        successor: &RefreshTokenRecord,
        now: i64,
        reuse_seconds: i64,
    ) -> Result<Rotation, StoreError> {
        // The one statement that decides: a current token is marked used
        // (once: its first rotation's time stays), and one rotated out
        // less than the reuse interval ago passes again. A concurrent
        // rotation waits for this row's lock and then re-reads `used_at`,
        // so replicas agree; with an interval of 0 only the first passes.
        let sql = format!(
            "WITH consumed AS (UPDATE refresh_tokens SET used_at = COALESCE(used_at, $1) WHERE token_sha256 = $2 AND revoked_at IS NULL AND expires_at > $1 AND (used_at IS NULL OR ($3 > 0 AND used_at > $1 - $3)) RETURNING 1) INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) SELECT {} FROM consumed",
            refresh_values(4)
        );
        let query = sqlx::query(&sql)
            .bind(now)
            .bind(old.0.to_vec())
            .bind(reuse_seconds);
        let done = bind_refresh(query, successor).execute(&self.writer).await?;
        if done.rows_affected() == 1 {
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
