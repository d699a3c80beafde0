//! The hot path of the code and refresh grants: `GrantStore`, a part of
//! `Store` with a room of its own, because each engine takes its fastest
//! way to the same guarantees. The writes: PostgreSQL makes each one
//! statement (one round trip), and under load one statement for many
//! grants (`batch`); SQLite runs each as one call on its writer
//! thread (`sqlite_writer`), many grants to a commit under load, each
//! answered only once its commit is done. The reads (the code, the refresh
//! token, the user, the user's consents): one statement on both engines,
//! batched as the writes on PostgreSQL; SQLite reads it in place, on the
//! calling thread (`sqlite_readers`), with no hand-off to another thread.

use async_trait::async_trait;
use uuid::Uuid;

use super::{AuthCodeRecord, RefreshTokenRecord, Rotation, StoreError};
use crate::directory::{Consent, User};
use crate::secrets::Digest;

/// A code with its user, read together: what a redemption checks.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub code: AuthCodeRecord,
    /// `None` when the user was deleted since the sign-in.
    pub user: Option<User>,
}

/// A refresh token with its user and the consents that user gave the
/// token's client, read together: what a refresh checks.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub token: RefreshTokenRecord,
    /// `None` when the user was deleted since the sign-in.
    pub user: Option<User>,
    pub consents: Vec<Consent>,
}

#[async_trait]
pub trait GrantStore {
    async fn find_code(&self, digest: &Digest) -> Result<Option<AuthCodeRecord>, StoreError>;

    /// The code and its user. Both engines make it one statement
    /// (`code_grant_sql`): one round trip, or one read transaction.
    async fn find_code_grant(&self, digest: &Digest) -> Result<Option<CodeGrant>, StoreError> {
        let Some(code) = self.find_code(digest).await? else {
            return Ok(None);
        };
        let user = self.find_user(code.tenant_id, code.user_oid).await?;
        Ok(Some(CodeGrant { code, user }))
    }

    /// The refresh token, its user and their consents to its client, as
    /// `find_code_grant` does.
    async fn find_refresh_grant(
        &self,
        digest: &Digest,
    ) -> Result<Option<RefreshGrant>, StoreError> {
        let Some(token) = self.find_refresh_token(digest).await? else {
            return Ok(None);
        };
        let user = self.find_user(token.tenant_id, token.user_oid).await?;
        let consents = match &user {
            Some(_) => {
                self.consents(token.tenant_id, token.user_oid, token.client_id)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(Some(RefreshGrant {
            token,
            user,
            consents,
        }))
    }

    async fn find_refresh_token(
        &self,
        digest: &Digest,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;

    async fn find_user(&self, tenant: Uuid, object_id: Uuid) -> Result<Option<User>, StoreError>;

    /// The consents `user` gave `client`.
    async fn consents(
        &self,
        tenant: Uuid,
        user: Uuid,
        client: Uuid,
    ) -> Result<Vec<Consent>, StoreError>;

    /// Marks the code redeemed, naming the refresh-token family it starts,
    /// and stores that family's first refresh token, atomically: of two
    /// concurrent redemptions exactly one gets `true`, and a replay that
    /// finds the code redeemed finds its refresh token too (to revoke it).
    /// Only an unredeemed, unexpired code can be redeemed.
    async fn redeem_code(
        &self,
        digest: &Digest,
        family: Uuid,
        now: i64,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<bool, StoreError>;

    /// Marks `old` used and stores `successor` in its family, atomically.
    /// A token rotated out less than `reuse_seconds` before `now` rotates
    /// again (its successor is a sibling of the first: both stay current),
    /// so concurrent rotations within the interval all get `Rotated`; with
    /// `reuse_seconds` 0, exactly one does. A token presented later than
    /// that after it was rotated out revokes its whole family.
    async fn rotate_refresh_token(
        &self,
        old: &Digest,
        successor: &RefreshTokenRecord,
        now: i64,
        reuse_seconds: i64,
    ) -> Result<Rotation, StoreError>;
}

/// The columns of `refresh_tokens` in the order both engines bind them.
pub(super) const REFRESH_COLUMNS: &str = "token_sha256, family_id, tenant_id, client_id, user_oid, resource, scope, issued_at, expires_at, used_at, revoked_at, granted_scope, family_expires_at, spa_origin, auth_methods";

/// The user's columns beside a code's or a refresh token's, in a `LEFT
/// JOIN` aliased `u`: none of these names is a column of either, and the
/// user's `tenant_id` is the joined row's own.
const USER_COLUMNS: &str =
    "u.object_id, u.upn, u.display_name, u.password_hash, u.totp_secret, u.mfa_enforced, u.roles";

/// A code and its user in one statement (`filter` is what the digest must
/// match: one parameter, or a list on PostgreSQL). Both engines run it.
pub(super) fn code_grant_sql(filter: &str) -> String {
    format!(
        "SELECT c.*, {USER_COLUMNS} FROM auth_codes c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.object_id = c.user_oid WHERE c.code_sha256 {filter}"
    )
}

/// A refresh token, its user and that user's consents to the token's
/// client in one statement: one row per consent (or one with none), the
/// token and its user repeated on each.
pub(super) fn refresh_grant_sql(filter: &str) -> String {
    format!(
        "SELECT t.*, {USER_COLUMNS}, k.api AS consent_api, k.scopes AS consent_scopes FROM refresh_tokens t LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.object_id = t.user_oid LEFT JOIN consents k ON u.object_id IS NOT NULL AND k.tenant_id = t.tenant_id AND k.user_oid = t.user_oid AND k.client_id = t.client_id WHERE t.token_sha256 {filter}"
    )
}

/// A consent row joined to `token` (`consent_api`, `consent_scopes`): the
/// user's, for the token's client. The API is stored as `''` for none.
pub(super) fn joined_consent(
    token: &RefreshTokenRecord,
    api: String,
    scopes: &str,
) -> Result<Consent, StoreError> {
    Ok(Consent {
        tenant_id: token.tenant_id,
        user_oid: token.user_oid,
        client_id: token.client_id,
        api: (!api.is_empty()).then_some(api),
        scopes: super::sql::from_json(scopes)?,
    })
}
