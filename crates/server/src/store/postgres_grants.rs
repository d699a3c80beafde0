//! `GrantStore` on PostgreSQL: each grant is one statement, so one round
//! trip and no explicit transaction. A data-modifying `WITH` marks the code
//! (or the refresh token) used and inserts the new refresh token only if
//! that row was marked: the row lock decides a race exactly as the
//! two-statement transaction did (the loser waits, then re-reads the row
//! and matches nothing). sqlx prepares each statement once per connection.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::grants::{CodeGrant, GrantStore, REFRESH_COLUMNS, RefreshGrant};
use super::postgres::PostgresStore;
use super::postgres::sql_impl::{bind_refresh, code_from_row, refresh_from_row, user_from_row};
use super::sql::from_json;
use super::{AuthCodeRecord, RefreshTokenRecord, Rotation, StoreError};
use crate::directory::{Consent, User};
use crate::secrets::Digest;

/// The user's columns beside a code's or a refresh token's, in a `LEFT
/// JOIN` aliased `u`: none of these names is a column of either, and the
/// user's `tenant_id` is the joined row's own.
const USER_COLUMNS: &str =
    "u.object_id, u.upn, u.display_name, u.password_hash, u.totp_secret, u.mfa_enforced, u.roles";

/// The user of a joined row, if the join found one.
fn joined_user(row: &PgRow) -> Result<Option<User>, StoreError> {
    let found: Option<String> = row.try_get("object_id")?;
    found.map(|_| user_from_row(row)).transpose()
}

/// The refresh token's values as parameters `$n`…`$n+14`, in
/// `REFRESH_COLUMNS`' order.
fn refresh_values(first: usize) -> String {
    (first..first + 15)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A consent row joined to `token`: the user's, for the token's client.
fn consent(
    token: &RefreshTokenRecord,
    api: String,
    scopes: Result<String, sqlx::Error>,
) -> Result<Consent, StoreError> {
    Ok(Consent {
        tenant_id: token.tenant_id,
        user_oid: token.user_oid,
        client_id: token.client_id,
        api: (!api.is_empty()).then_some(api),
        scopes: from_json(&scopes?)?,
    })
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

    async fn find_code_grant(&self, digest: &Digest) -> Result<Option<CodeGrant>, StoreError> {
        let sql = format!(
            "SELECT c.*, {USER_COLUMNS} FROM auth_codes c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.object_id = c.user_oid WHERE c.code_sha256 = $1"
        );
        let row = sqlx::query(&sql)
            .bind(digest.0.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(CodeGrant {
            code: code_from_row(&row)?,
            user: joined_user(&row)?,
        }))
    }

    async fn find_refresh_grant(
        &self,
        digest: &Digest,
    ) -> Result<Option<RefreshGrant>, StoreError> {
        // One row per consent (or one with none): the token and its user
        // repeat on each.
        let sql = format!(
            "SELECT t.*, {USER_COLUMNS}, k.api AS consent_api, k.scopes AS consent_scopes FROM refresh_tokens t LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.object_id = t.user_oid LEFT JOIN consents k ON u.object_id IS NOT NULL AND k.tenant_id = t.tenant_id AND k.user_oid = t.user_oid AND k.client_id = t.client_id WHERE t.token_sha256 = $1"
        );
        let rows = sqlx::query(&sql)
            .bind(digest.0.to_vec())
            .fetch_all(&self.pool)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let token = refresh_from_row(first)?;
        let user = joined_user(first)?;
        let consents = rows
            .iter()
            .filter_map(|row| {
                let api: Option<String> = match row.try_get("consent_api") {
                    Ok(api) => api,
                    Err(err) => return Some(Err(err.into())),
                };
                api.map(|api| consent(&token, api, row.try_get("consent_scopes")))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(RefreshGrant {
            token,
            user,
            consents,
        }))
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
