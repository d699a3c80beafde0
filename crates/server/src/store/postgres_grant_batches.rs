//! The grants' statements on PostgreSQL, each for one call and for a batch
//! of them (`batch`): the code or refresh token read with its user (and
//! that user's consents to the token's client), and the two decisive
//! writes. A write is one statement, a data-modifying `WITH` that marks the
//! code (or the refresh token) used and inserts the new refresh token only
//! for a row it marked: the row lock decides a race exactly as a
//! transaction would (the loser waits, then re-reads the row and matches
//! nothing). A batch of writes is the same statement over `unnest`ed
//! arrays, one commit for all; it never holds two calls on one row
//! (`BatchOp::key`). sqlx prepares each statement once per connection.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::RefreshTokenRecord;
use super::StoreError;
use super::batch::{BatchOp, Batcher};
use super::grants::{
    CodeGrant, REFRESH_COLUMNS, RefreshGrant, code_grant_sql, joined_consent, refresh_grant_sql,
};
use super::postgres::sql_impl::{bind_refresh, code_from_row, refresh_from_row, user_from_row};
use crate::directory::User;
use crate::secrets::Digest;

/// Read batches at once (each on a connection of its own).
const READS_IN_FLIGHT: usize = 2;
/// Write batches of one kind at once: one, so that two of this process's
/// batches never wait for each other's row locks.
const WRITES_IN_FLIGHT: usize = 1;

/// The four queues, one per statement.
#[derive(Debug)]
pub struct GrantBatches {
    pub code_grants: Batcher<FindCodeGrants>,
    pub refresh_grants: Batcher<FindRefreshGrants>,
    pub redemptions: Batcher<RedeemCodes>,
    pub rotations: Batcher<RotateRefreshTokens>,
}

impl GrantBatches {
    /// Starts the queues' tasks on the current runtime.
    pub fn start(pool: &PgPool) -> Arc<GrantBatches> {
        Arc::new(GrantBatches {
            code_grants: Batcher::start(FindCodeGrants(pool.clone()), READS_IN_FLIGHT),
            refresh_grants: Batcher::start(FindRefreshGrants(pool.clone()), READS_IN_FLIGHT),
            redemptions: Batcher::start(RedeemCodes(pool.clone()), WRITES_IN_FLIGHT),
            rotations: Batcher::start(RotateRefreshTokens(pool.clone()), WRITES_IN_FLIGHT),
        })
    }

    /// (calls, statements) of the four, summed: under load, fewer
    /// statements than calls.
    pub fn counts(&self) -> (u64, u64) {
        [
            self.code_grants.counts(),
            self.refresh_grants.counts(),
            self.redemptions.counts(),
            self.rotations.counts(),
        ]
        .into_iter()
        .fold((0, 0), |(calls, statements), (c, s)| {
            (calls + c, statements + s)
        })
    }
}

/// The user of a joined row, if the join found one.
fn joined_user(row: &PgRow) -> Result<Option<User>, StoreError> {
    let found: Option<String> = row.try_get("object_id")?;
    found.map(|_| user_from_row(row)).transpose()
}

fn digest_bytes(digests: impl Iterator<Item = Digest>) -> Vec<Vec<u8>> {
    digests.map(|digest| digest.0.to_vec()).collect()
}

/// The answer for each call, from rows keyed by the digest they were
/// asked by (a digest asked twice is answered twice).
fn answer_each<T: Clone>(calls: &[Digest], mut found: HashMap<[u8; 32], T>) -> Vec<Option<T>> {
    let mut answers: Vec<Option<T>> = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let repeated = calls[..i].iter().position(|earlier| earlier == call);
        answers.push(match repeated {
            Some(earlier) => answers[earlier].clone(),
            None => found.remove(&call.0),
        });
    }
    answers
}

#[derive(Debug)]
pub struct FindCodeGrants(PgPool);

#[async_trait]
impl BatchOp for FindCodeGrants {
    type Call = Digest;
    type Output = Option<CodeGrant>;

    fn key(_: &Digest) -> Option<Vec<u8>> {
        None
    }

    async fn run_one(&self, digest: &Digest) -> Result<Option<CodeGrant>, StoreError> {
        let row = sqlx::query(&code_grant_sql("= $1"))
            .bind(digest.0.to_vec())
            .fetch_optional(&self.0)
            .await?;
        row.as_ref().map(code_grant_from_row).transpose()
    }

    async fn run_many(&self, digests: &[Digest]) -> Result<Vec<Option<CodeGrant>>, StoreError> {
        let rows = sqlx::query(&code_grant_sql("= ANY($1)"))
            .bind(digest_bytes(digests.iter().copied()))
            .fetch_all(&self.0)
            .await?;
        let found = rows
            .iter()
            .map(|row| code_grant_from_row(row).map(|grant| (grant.code.digest.0, grant)))
            .collect::<Result<_, StoreError>>()?;
        Ok(answer_each(digests, found))
    }
}

fn code_grant_from_row(row: &PgRow) -> Result<CodeGrant, StoreError> {
    Ok(CodeGrant {
        code: code_from_row(row)?,
        user: joined_user(row)?,
    })
}

#[derive(Debug)]
pub struct FindRefreshGrants(PgPool);

#[async_trait]
impl BatchOp for FindRefreshGrants {
    type Call = Digest;
    type Output = Option<RefreshGrant>;

    fn key(_: &Digest) -> Option<Vec<u8>> {
        None
    }

    async fn run_one(&self, digest: &Digest) -> Result<Option<RefreshGrant>, StoreError> {
        let rows = sqlx::query(&refresh_grant_sql("= $1"))
            .bind(digest.0.to_vec())
            .fetch_all(&self.0)
            .await?;
        Ok(refresh_grants_from_rows(&rows)?.remove(&digest.0))
    }

    async fn run_many(&self, digests: &[Digest]) -> Result<Vec<Option<RefreshGrant>>, StoreError> {
        let rows = sqlx::query(&refresh_grant_sql("= ANY($1)"))
            .bind(digest_bytes(digests.iter().copied()))
            .fetch_all(&self.0)
            .await?;
        Ok(answer_each(digests, refresh_grants_from_rows(&rows)?))
    }
}

/// Each token's grant, its consents gathered from the rows that repeat it.
fn refresh_grants_from_rows(rows: &[PgRow]) -> Result<HashMap<[u8; 32], RefreshGrant>, StoreError> {
    let mut grants: HashMap<[u8; 32], RefreshGrant> = HashMap::new();
    for row in rows {
        let token = refresh_from_row(row)?;
        let api: Option<String> = row.try_get("consent_api")?;
        let consent = api
            .map(|api| joined_consent(&token, api, &row.try_get::<String, _>("consent_scopes")?))
            .transpose()?;
        let grant = match grants.entry(token.digest.0) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(RefreshGrant {
                user: joined_user(row)?,
                token,
                consents: Vec::new(),
            }),
        };
        grant.consents.extend(consent);
    }
    Ok(grants)
}

/// The refresh token's values as parameters `$n`…`$n+14`, in
/// `REFRESH_COLUMNS`' order.
fn refresh_values(first: usize) -> String {
    (first..first + 15)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `REFRESH_COLUMNS`' SQL types, in order: the casts of their arrays.
const REFRESH_TYPES: [&str; 15] = [
    "bytea", "text", "text", "text", "text", "text", "text", "int8", "int8", "int8", "int8",
    "text", "int8", "text", "text",
];

/// New refresh tokens as one array per column, each with the digest of
/// the row whose marking inserts it (the code, or the token it succeeds):
/// `unnest`ed as the relation `s (key, REFRESH_COLUMNS)`.
#[derive(Default)]
struct NewRefreshTokens {
    key: Vec<Vec<u8>>,
    digest: Vec<Vec<u8>>,
    family_id: Vec<String>,
    tenant_id: Vec<String>,
    client_id: Vec<String>,
    user_oid: Vec<String>,
    resource: Vec<String>,
    scope: Vec<String>,
    issued_at: Vec<i64>,
    expires_at: Vec<i64>,
    used_at: Vec<Option<i64>>,
    revoked_at: Vec<Option<i64>>,
    granted_scope: Vec<String>,
    family_expires_at: Vec<i64>,
    spa_origin: Vec<Option<String>>,
    auth_methods: Vec<String>,
}

impl NewRefreshTokens {
    fn push(&mut self, key: &Digest, token: &RefreshTokenRecord) {
        self.key.push(key.0.to_vec());
        self.digest.push(token.digest.0.to_vec());
        self.family_id.push(token.family_id.to_string());
        self.tenant_id.push(token.tenant_id.to_string());
        self.client_id.push(token.client_id.to_string());
        self.user_oid.push(token.user_oid.to_string());
        self.resource.push(token.resource.clone());
        self.scope.push(token.scope.clone());
        self.issued_at.push(token.issued_at);
        self.expires_at.push(token.expires_at);
        self.used_at.push(token.used_at);
        self.revoked_at.push(token.revoked_at);
        self.granted_scope.push(token.granted_scope.clone());
        self.family_expires_at.push(token.family_expires_at);
        self.spa_origin.push(token.spa_origin.clone());
        self.auth_methods.push(token.auth_methods.clone());
    }

    /// `unnest($first::bytea[], …) AS s (key, …)`: the key's array first,
    /// then `REFRESH_COLUMNS`' in order.
    fn relation(first: usize) -> String {
        let arrays = std::iter::once("bytea")
            .chain(REFRESH_TYPES)
            .enumerate()
            .map(|(i, ty)| format!("${}::{ty}[]", first + i))
            .collect::<Vec<_>>()
            .join(", ");
        format!("unnest({arrays}) AS s (key, {REFRESH_COLUMNS})")
    }

    fn bind(
        self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.key)
            .bind(self.digest)
            .bind(self.family_id)
            .bind(self.tenant_id)
            .bind(self.client_id)
            .bind(self.user_oid)
            .bind(self.resource)
            .bind(self.scope)
            .bind(self.issued_at)
            .bind(self.expires_at)
            .bind(self.used_at)
            .bind(self.revoked_at)
            .bind(self.granted_scope)
            .bind(self.family_expires_at)
            .bind(self.spa_origin)
            .bind(self.auth_methods)
    }
}

/// `INSERT INTO refresh_tokens` the rows of `s` whose key `marked` returned.
fn insert_marked(marked: &str, key_column: &str) -> String {
    let values = REFRESH_COLUMNS
        .split(", ")
        .map(|column| format!("s.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) SELECT {values} FROM successors s JOIN {marked} m ON m.{key_column} = s.key"
    )
}

/// Redeems a code: true if this call marked it (and stored the family's
/// first refresh token, if any).
#[derive(Debug)]
pub struct RedeemCode {
    pub digest: Digest,
    pub family: Uuid,
    pub now: i64,
    pub refresh: Option<RefreshTokenRecord>,
}

#[derive(Debug)]
pub struct RedeemCodes(PgPool);

const REDEEM: &str = "UPDATE auth_codes SET redeemed_at = $1, family_id = $2 WHERE code_sha256 = $3 AND redeemed_at IS NULL AND expires_at > $1";

#[async_trait]
impl BatchOp for RedeemCodes {
    type Call = RedeemCode;
    type Output = bool;

    fn key(call: &RedeemCode) -> Option<Vec<u8>> {
        Some(call.digest.0.to_vec())
    }

    async fn run_one(&self, call: &RedeemCode) -> Result<bool, StoreError> {
        let Some(token) = &call.refresh else {
            let done = sqlx::query(REDEEM)
                .bind(call.now)
                .bind(call.family.to_string())
                .bind(call.digest.0.to_vec())
                .execute(&self.0)
                .await?;
            return Ok(done.rows_affected() == 1);
        };
        let sql = format!(
            "WITH redeemed AS ({REDEEM} RETURNING 1) INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) SELECT {} FROM redeemed",
            refresh_values(4)
        );
        let query = sqlx::query(&sql)
            .bind(call.now)
            .bind(call.family.to_string())
            .bind(call.digest.0.to_vec());
        let done = bind_refresh(query, token).execute(&self.0).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn run_many(&self, calls: &[RedeemCode]) -> Result<Vec<bool>, StoreError> {
        let sql = format!(
            "WITH input AS (SELECT * FROM unnest($1::bytea[], $2::text[], $3::int8[]) AS i (code, family, now)), \
             redeemed AS (UPDATE auth_codes c SET redeemed_at = i.now, family_id = i.family FROM input i \
               WHERE c.code_sha256 = i.code AND c.redeemed_at IS NULL AND c.expires_at > i.now RETURNING c.code_sha256), \
             successors AS (SELECT * FROM {}), \
             inserted AS ({}) \
             SELECT code_sha256 FROM redeemed",
            NewRefreshTokens::relation(4),
            insert_marked("redeemed", "code_sha256"),
        );
        let mut tokens = NewRefreshTokens::default();
        for call in calls {
            if let Some(token) = &call.refresh {
                tokens.push(&call.digest, token);
            }
        }
        let query = sqlx::query(&sql)
            .bind(digest_bytes(calls.iter().map(|call| call.digest)))
            .bind(
                calls
                    .iter()
                    .map(|call| call.family.to_string())
                    .collect::<Vec<_>>(),
            )
            .bind(calls.iter().map(|call| call.now).collect::<Vec<_>>());
        let rows = tokens.bind(query).fetch_all(&self.0).await?;
        marked_among(calls.iter().map(|call| &call.digest), &rows, "code_sha256")
    }
}

/// For each call's digest, whether the statement marked its row.
fn marked_among<'a>(
    calls: impl Iterator<Item = &'a Digest>,
    rows: &[PgRow],
    column: &str,
) -> Result<Vec<bool>, StoreError> {
    let marked = rows
        .iter()
        .map(|row| row.try_get::<Vec<u8>, _>(column))
        .collect::<Result<std::collections::HashSet<_>, _>>()?;
    Ok(calls
        .map(|digest| marked.contains(digest.0.as_slice()))
        .collect())
}

/// Rotates a refresh token: true if this call marked it used (or passed
/// again within the reuse interval) and stored its successor.
#[derive(Debug)]
pub struct RotateRefreshToken {
    pub old: Digest,
    pub successor: RefreshTokenRecord,
    pub now: i64,
    pub reuse_seconds: i64,
}

#[derive(Debug)]
pub struct RotateRefreshTokens(PgPool);

/// The condition that decides a rotation: a current token is marked used
/// (once: its first rotation's time stays), and one rotated out less than
/// the reuse interval ago passes again. A concurrent rotation waits for
/// the row's lock and then re-reads `used_at`, so replicas agree; with an
/// interval of 0 only the first passes.
fn rotation_sql(input: &str) -> String {
    format!(
        "UPDATE refresh_tokens t SET used_at = COALESCE(t.used_at, i.now) FROM {input} \
         WHERE t.token_sha256 = i.old AND t.revoked_at IS NULL AND t.expires_at > i.now \
         AND (t.used_at IS NULL OR (i.reuse > 0 AND t.used_at > i.now - i.reuse)) RETURNING t.token_sha256"
    )
}

#[async_trait]
impl BatchOp for RotateRefreshTokens {
    type Call = RotateRefreshToken;
    type Output = bool;

    fn key(call: &RotateRefreshToken) -> Option<Vec<u8>> {
        Some(call.old.0.to_vec())
    }

    async fn run_one(&self, call: &RotateRefreshToken) -> Result<bool, StoreError> {
        let sql = format!(
            "WITH consumed AS ({}) INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) SELECT {} FROM consumed",
            rotation_sql("(SELECT $1::int8 AS now, $2::bytea AS old, $3::int8 AS reuse) i"),
            refresh_values(4)
        );
        let query = sqlx::query(&sql)
            .bind(call.now)
            .bind(call.old.0.to_vec())
            .bind(call.reuse_seconds);
        let done = bind_refresh(query, &call.successor)
            .execute(&self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn run_many(&self, calls: &[RotateRefreshToken]) -> Result<Vec<bool>, StoreError> {
        let sql = format!(
            "WITH consumed AS ({}), successors AS (SELECT * FROM {}), inserted AS ({}) SELECT token_sha256 FROM consumed",
            rotation_sql("unnest($1::bytea[], $2::int8[], $3::int8[]) AS i (old, now, reuse)"),
            NewRefreshTokens::relation(4),
            insert_marked("consumed", "token_sha256"),
        );
        let mut successors = NewRefreshTokens::default();
        for call in calls {
            successors.push(&call.old, &call.successor);
        }
        let query = sqlx::query(&sql)
            .bind(digest_bytes(calls.iter().map(|call| call.old)))
            .bind(calls.iter().map(|call| call.now).collect::<Vec<_>>())
            .bind(
                calls
                    .iter()
                    .map(|call| call.reuse_seconds)
                    .collect::<Vec<_>>(),
            );
        let rows = successors.bind(query).fetch_all(&self.0).await?;
        marked_among(calls.iter().map(|call| &call.old), &rows, "token_sha256")
    }
}
