//! The sign-in log in the store: `SignInLogStore`, a part of `Store` with a
//! room of its own, expanded for both engines by `sign_in_log_store!`
//! beside `sql_store!`. A batch of records is one multi-row `INSERT`; the
//! log is read newest first, by filters; retention is two `DELETE`s (older
//! than a time, beyond a number of rows). Replicas on PostgreSQL share it.

use async_trait::async_trait;
use serde::Serialize;

use super::StoreError;

/// One sign-in: an authorize outcome, a token, device-code or managed
/// identity request. Who, what and how it ended; never a secret,
/// password, code, token or assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInRecord {
    /// The store's id (0 before it is stored): newer records have larger ids.
    pub id: i64,
    /// Unix seconds.
    pub time: i64,
    /// The tenant's id, or the `{tenant}` segment as written when it named
    /// no tenant (`common`, an unknown name).
    pub tenant: Option<String>,
    /// `token`, `token_v2`, `authorize`, `authorize_v2`, `devicecode`,
    /// `devicecode_v2`, `managed_identity_app_service`, `managed_identity_imds`.
    pub endpoint: String,
    /// The token request's grant (`client_credentials`…); `authorization_code`
    /// at the authorize endpoint.
    pub grant: Option<String>,
    /// The client id, as presented.
    pub app: Option<String>,
    /// The user's name (UPN), as signed in or as typed.
    pub user: Option<String>,
    pub client_ip: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// `success` or `failure`.
    pub outcome: String,
    /// The OAuth error code.
    pub error: Option<String>,
    /// The AADSTS numbers, space-separated.
    pub error_codes: Option<String>,
    pub suberror: Option<String>,
    pub trace_id: String,
    pub correlation_id: String,
    /// The scenario that injected the error, if one did.
    pub scenario: Option<i64>,
}

impl SignInRecord {
    /// Whether an error scenario injected the error.
    pub fn injected(&self) -> bool {
        self.scenario.is_some()
    }

    pub fn failed(&self) -> bool {
        self.outcome != "success"
    }
}

/// Which records to read: every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInQuery {
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The user's name, case-insensitively.
    pub user: Option<String>,
    /// The client id.
    pub app: Option<String>,
    /// An OAuth error code (`invalid_client`) or an AADSTS number
    /// (`7000215`, `AADSTS7000215`).
    pub error: Option<String>,
    /// At or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Records with a larger id only (for following the log).
    pub after_id: Option<i64>,
    /// At most this many, newest first.
    pub limit: u32,
}

impl SignInQuery {
    /// The error filter as the store compares it: an AADSTS number
    /// without its prefix.
    pub(super) fn error_filter(&self) -> Option<String> {
        self.error.as_deref().map(|e| {
            let e = e.trim();
            e.strip_prefix("AADSTS")
                .or_else(|| e.strip_prefix("aadsts"))
                .unwrap_or(e)
                .to_owned()
        })
    }
}

#[async_trait]
pub trait SignInLogStore {
    /// Stores `records` (their ids are ignored), in one statement.
    async fn insert_sign_ins(&self, records: &[SignInRecord]) -> Result<(), StoreError>;

    /// The records `query` asks for, newest first.
    async fn find_sign_ins(&self, query: &SignInQuery) -> Result<Vec<SignInRecord>, StoreError>;

    /// The record `id`, if it is kept.
    async fn find_sign_in(&self, id: i64) -> Result<Option<SignInRecord>, StoreError>;

    /// Deletes the records older than `before` and all but the newest
    /// `max_rows`; returns how many went.
    async fn prune_sign_ins(&self, before: i64, max_rows: u64) -> Result<u64, StoreError>;
}

/// The columns, in the order `insert_sign_ins` binds them.
pub(super) const COLUMNS: &str = "created_at, tenant, endpoint, grant_type, app, user_name, client_ip, status, outcome, error, error_codes, suberror, trace_id, correlation_id, scenario";

/// `impl SignInLogStore for $store`, beside `sql_store!`.
macro_rules! sign_in_log_store {
    ($store:ident, $db:ty, $row:ty) => {
        mod sign_in_log_impl {
            use async_trait::async_trait;
            use sqlx::{QueryBuilder, Row};

            use super::$store;
            use crate::store::sign_ins::COLUMNS;
            use crate::store::{SignInLogStore, SignInQuery, SignInRecord, StoreError};

            fn record(row: &$row) -> Result<SignInRecord, StoreError> {
                Ok(SignInRecord {
                    id: row.try_get("id")?,
                    time: row.try_get("created_at")?,
                    tenant: row.try_get("tenant")?,
                    endpoint: row.try_get("endpoint")?,
                    grant: row.try_get("grant_type")?,
                    app: row.try_get("app")?,
                    user: row.try_get("user_name")?,
                    client_ip: row.try_get("client_ip")?,
                    status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(0),
                    outcome: row.try_get("outcome")?,
                    error: row.try_get("error")?,
                    error_codes: row.try_get("error_codes")?,
                    suberror: row.try_get("suberror")?,
                    trace_id: row.try_get("trace_id")?,
                    correlation_id: row.try_get("correlation_id")?,
                    scenario: row.try_get("scenario")?,
                })
            }

            #[async_trait]
            impl SignInLogStore for $store {
                async fn insert_sign_ins(&self, records: &[SignInRecord]) -> Result<(), StoreError> {
                    if records.is_empty() {
                        return Ok(());
                    }
                    let mut insert: QueryBuilder<'_, $db> =
                        QueryBuilder::new(format!("INSERT INTO sign_ins ({COLUMNS}) "));
                    insert.push_values(records, |mut row, r| {
                        row.push_bind(r.time)
                            .push_bind(r.tenant.as_deref())
                            .push_bind(r.endpoint.as_str())
                            .push_bind(r.grant.as_deref())
                            .push_bind(r.app.as_deref())
                            .push_bind(r.user.as_deref())
                            .push_bind(r.client_ip.as_deref())
                            .push_bind(i64::from(r.status))
                            .push_bind(r.outcome.as_str())
                            .push_bind(r.error.as_deref())
                            .push_bind(r.error_codes.as_deref())
                            .push_bind(r.suberror.as_deref())
                            .push_bind(r.trace_id.as_str())
                            .push_bind(r.correlation_id.as_str())
                            .push_bind(r.scenario);
                    });
                    insert.build().execute(&self.writer).await?;
                    Ok(())
                }

                async fn find_sign_ins(
                    &self,
                    query: &SignInQuery,
                ) -> Result<Vec<SignInRecord>, StoreError> {
                    let mut select: QueryBuilder<'_, $db> =
                        QueryBuilder::new(format!("SELECT id, {COLUMNS} FROM sign_ins WHERE 1 = 1"));
                    if let Some(trace_id) = &query.trace_id {
                        select.push(" AND trace_id = ").push_bind(trace_id.to_ascii_lowercase());
                    }
                    if let Some(correlation_id) = &query.correlation_id {
                        select
                            .push(" AND correlation_id = ")
                            .push_bind(correlation_id.to_ascii_lowercase());
                    }
                    if let Some(user) = &query.user {
                        select.push(" AND LOWER(user_name) = ").push_bind(user.to_lowercase());
                    }
                    if let Some(app) = &query.app {
                        select.push(" AND LOWER(app) = ").push_bind(app.to_lowercase());
                    }
                    if let Some(error) = query.error_filter() {
                        select
                            .push(" AND (error = ")
                            .push_bind(error.clone())
                            .push(" OR error_codes = ")
                            .push_bind(error)
                            .push(")");
                    }
                    if let Some(since) = query.since {
                        select.push(" AND created_at >= ").push_bind(since);
                    }
                    if let Some(after) = query.after_id {
                        select.push(" AND id > ").push_bind(after);
                    }
                    select
                        .push(" ORDER BY id DESC LIMIT ")
                        .push_bind(i64::from(query.limit.max(1)));
                    let rows = select.build().fetch_all(&self.pool).await?;
                    rows.iter().map(record).collect()
                }

                async fn find_sign_in(&self, id: i64) -> Result<Option<SignInRecord>, StoreError> {
                    let row = sqlx::query(&format!("SELECT id, {COLUMNS} FROM sign_ins WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(record).transpose()
                }

                async fn prune_sign_ins(&self, before: i64, max_rows: u64) -> Result<u64, StoreError> {
                    let old = sqlx::query("DELETE FROM sign_ins WHERE created_at < $1")
                        .bind(before)
                        .execute(&self.writer)
                        .await?
                        .rows_affected();
                    // The newest `max_rows` stay: everything older than the
                    // last of them goes (none when there are fewer).
                    let keep = i64::try_from(max_rows.max(1) - 1).unwrap_or(i64::MAX);
                    let over = sqlx::query(
                        "DELETE FROM sign_ins WHERE id < (SELECT id FROM sign_ins ORDER BY id DESC LIMIT 1 OFFSET $1)",
                    )
                    .bind(keep)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                    Ok(old + over)
                }
            }
        }
    };
}

pub(super) use sign_in_log_store;
