//! The `Store` interface: everything Latchkey keeps. One trait, one engine
//! per module; every single-use or rotation rule is one atomic statement
//! (or one transaction) in the database, never a check in process memory.

mod assertions;
mod batch;
mod device_codes;
mod directory;
mod grants;
mod postgres;
mod postgres_grant_batches;
mod postgres_grants;
mod sign_ins;
mod sql;
mod sqlite;
mod sqlite_busy;
mod sqlite_checkpoints;
mod sqlite_grants;
mod sqlite_readers;
mod sqlite_writer;

use async_trait::async_trait;
use uuid::Uuid;

use crate::directory::{Consent, LockoutPolicy, User};
use crate::keys::SigningAlg;
use crate::secrets::Digest;

pub use assertions::AssertionStore;
pub use device_codes::{DeviceCodeRecord, DeviceCodeStatus, DeviceCodeStore};
pub use directory::DirectoryStore;
pub use grants::{CodeGrant, GrantStore, RefreshGrant};
pub use postgres::PostgresStore;
pub use sign_ins::{SignInLogStore, SignInQuery, SignInRecord};
pub use sqlite::SqliteStore;

/// The driver's error is in the message, not kept as a `source`: sqlx's
/// messages already repeat their causes, and a report of the chain would
/// say everything twice.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot make the database file private: {0}")]
    Files(std::io::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database's writer thread is gone")]
    WriterGone,
    /// The statement a batch of calls shared could not run (`batch`):
    /// each call gets this, with the cause's message.
    #[error("{0}")]
    Shared(String),
}

impl StoreError {
    /// The database could not be reached at all (no connection, the
    /// connection broke): trying each call of a batch again alone would
    /// only wait as long again, for each.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            )
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Database(err)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(err)
    }
}

/// A signing key as kept in the store.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    /// What it signs with: its kind (RSA or P-256).
    pub alg: SigningAlg,
    /// PKCS#8 DER of the private key.
    pub pkcs8: Vec<u8>,
    /// The self-signed certificate (DER) whose thumbprint is `x5t`.
    pub certificate: Vec<u8>,
    pub created_at: i64,
    /// When it starts signing; published from the moment it is stored.
    pub activates_at: i64,
}

/// A refresh token, known by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub digest: Digest,
    pub family_id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub user_oid: Uuid,
    /// The resource of the sign-in; the default of a refresh without `resource`.
    pub resource: String,
    /// The OpenID Connect scopes of the sign-in (`openid`, `offline_access`…).
    pub scope: String,
    /// The API scopes the sign-in granted on `resource`, space-separated:
    /// a refresh for that resource gets at most these (RFC 6749 §6). Empty
    /// for a token stored before scopes were kept.
    pub granted_scope: String,
    pub issued_at: i64,
    /// The sliding end: at most the family's end.
    pub expires_at: i64,
    /// The absolute end of the family (sign-in + the family lifetime).
    pub family_expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The origin of the single-page-application redirect URI whose code
    /// started the family: the token is redeemed only cross-origin, from
    /// there. `None`: a web, native or password sign-in.
    pub spa_origin: Option<String>,
    /// How the family's sign-in went (`pwd`, `pwd mfa`): the `amr` of
    /// every token a refresh issues, and what a policy checks. Empty for a
    /// token stored before it was kept: not known, so it satisfies none.
    pub auth_methods: String,
}

/// An authorization code, known by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCodeRecord {
    pub digest: Digest,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub redirect_uri: String,
    /// The redirect URI's origin when it is of the single-page-application
    /// kind (the code is redeemed only cross-origin, from there).
    pub spa_origin: Option<String>,
    pub user_oid: Uuid,
    pub resource: String,
    /// The API scopes granted, space-separated.
    pub scope: String,
    /// The OpenID Connect scopes asked for, space-separated.
    pub oidc_scope: String,
    pub nonce: Option<String>,
    /// The PKCE S256 challenge, if the request had one.
    pub code_challenge: Option<String>,
    /// `pwd`, or `pwd mfa` after a second factor.
    pub auth_methods: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
    pub family_id: Option<Uuid>,
}

/// A browser's sign-in, known by the digest of its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub digest: Digest,
    pub tenant_id: Uuid,
    pub user_oid: Uuid,
    /// When the second factor was passed, if it was.
    pub mfa_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    /// The apps (client ids) the session signed in to, oldest first.
    pub client_ids: Vec<String>,
}

impl SessionRecord {
    /// How the session's user signed in, as `amr` lists it: `pwd`, or
    /// `pwd mfa` once the second factor was passed.
    pub fn auth_methods(&self) -> &'static str {
        if self.mfa_at.is_some() {
            "pwd mfa"
        } else {
            "pwd"
        }
    }
}

/// What happened when a refresh token was presented for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current, or rotated out less than the reuse interval
    /// ago; it is now used and its successor stored.
    Rotated,
    /// The token had been rotated out longer ago than the reuse interval:
    /// its family is now revoked.
    Reused,
    /// The token's family was revoked earlier.
    Revoked,
    Expired,
    NotFound,
}

#[async_trait]
pub trait Store:
    DirectoryStore
    + GrantStore
    + DeviceCodeStore
    + AssertionStore
    + SignInLogStore
    + Send
    + Sync
    + 'static
{
    async fn find_user_by_upn(&self, tenant: Uuid, upn: &str) -> Result<Option<User>, StoreError>;

    /// The MAC key stored under `name`, storing `fresh` first if there is
    /// none: every replica gets the first one stored.
    async fn mac_key(&self, name: &str, fresh: &[u8], now: i64) -> Result<Vec<u8>, StoreError>;

    /// All signing keys, oldest first (retired ones too: they stay, unpublished).
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;

    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError>;

    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError>;

    async fn insert_code(&self, code: &AuthCodeRecord) -> Result<(), StoreError>;

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session, if it exists and has not expired at `now`.
    async fn find_session(
        &self,
        digest: &Digest,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError>;

    async fn set_session_mfa(&self, digest: &Digest, now: i64) -> Result<(), StoreError>;

    /// Deletes the session `old` and stores `new` in its place, in one
    /// transaction: `false` (and nothing stored) if `old` was gone, so of
    /// two concurrent rotations of one session exactly one wins.
    async fn rotate_session(&self, old: &Digest, new: &SessionRecord) -> Result<bool, StoreError>;

    async fn delete_session(&self, digest: &Digest) -> Result<(), StoreError>;

    /// Azure AD's "revoke sessions" for one user: deletes the user's
    /// sign-in sessions and revokes every refresh token of theirs, in one
    /// transaction. Returns how many sessions and refresh tokens it ended.
    async fn revoke_user_sign_ins(
        &self,
        tenant: Uuid,
        user_oid: Uuid,
        now: i64,
    ) -> Result<(u64, u64), StoreError>;

    /// Notes that the session signed in to `client_id` (once per app, even
    /// when two requests add it at once).
    async fn add_session_client(&self, digest: &Digest, client_id: &str) -> Result<(), StoreError>;

    /// Deletes the sessions expired at `now` (no lookup finds them anyway).
    async fn delete_expired_sessions(&self, now: i64) -> Result<(), StoreError>;

    /// Adds `scopes` to what the user consented to for the app and API.
    async fn grant_consent(&self, consent: &Consent) -> Result<(), StoreError>;

    /// Revokes every refresh token of a family.
    async fn revoke_refresh_family(&self, family: Uuid, now: i64) -> Result<(), StoreError>;

    /// Until when the user name `upn` (lower-case) of `tenant` is locked
    /// out (Unix seconds; in the past, or 0, when it is not).
    async fn locked_until(&self, tenant: Uuid, upn: &str) -> Result<i64, StoreError>;

    /// Counts an attempt at a password or second-factor code for `upn`,
    /// before it is checked, unless the name is locked out at `now`
    /// (`None`: nothing counted). Counting first, in one statement, means
    /// concurrent guesses cannot outrun the lockout: the attempt that
    /// reaches the policy's threshold locks the name (for longer at each
    /// lockout since the last success), and every attempt after it is
    /// refused. Returns until when the name is now locked (0 if it is not).
    async fn begin_sign_in_attempt(
        &self,
        tenant: Uuid,
        upn: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Option<i64>, StoreError>;

    /// An attempt found right, though the sign-in is not complete yet (a
    /// second factor follows): it no longer counts as a failure.
    async fn refund_sign_in_attempt(&self, tenant: Uuid, upn: &str) -> Result<(), StoreError>;

    /// A completed sign-in: the failures and lockouts of `upn` are forgotten.
    async fn record_sign_in_success(&self, tenant: Uuid, upn: &str) -> Result<(), StoreError>;

    /// Marks TOTP time step `step` used for `upn`, atomically: `false` if
    /// it (or a later step) was used before, so a code is accepted once.
    async fn use_totp_step(&self, tenant: Uuid, upn: &str, step: i64) -> Result<bool, StoreError>;

    /// Forgets the failures of names not locked and idle since `before`
    /// (names nobody has a second factor for, mostly mistyped or guessed).
    async fn prune_sign_in_attempts(&self, before: i64) -> Result<(), StoreError>;

    /// One round trip to the database (`SELECT 1`): whether it answers
    /// (`/health/ready`).
    async fn ping(&self) -> Result<(), StoreError>;
}
