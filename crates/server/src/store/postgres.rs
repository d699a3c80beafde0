//! PostgreSQL, for several replicas on one database. The statements are the
//! SQLite engine's (`sql_store!`); only connecting and the DDL differ.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreError;
use super::assertions::assertion_store;
use super::device_codes::device_code_store;
use super::directory::directory_store;
use super::postgres_grant_batches::GrantBatches;
use super::sign_ins::sign_in_log_store;
use super::sql::sql_store;

/// How long a pooled connection may sit unused before it is pinged when
/// next handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
    /// The same pool: PostgreSQL's row locks order concurrent writers.
    pub(super) writer: PgPool,
    /// The grants' hot statements, batched under load.
    pub(super) batches: Arc<GrantBatches>,
}

impl PostgresStore {
    /// Connects to a `postgres://` URL with at most `max_connections`
    /// connections, and migrates the database.
    pub async fn open_url(url: &str, max_connections: u32) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(PgConnectOptions::from_str(url)?, max_connections).await
    }

    /// Connects with `options` and migrates the database.
    pub async fn connect(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<PostgresStore, StoreError> {
        // One connection first: a pool that cannot connect only says "pool
        // timed out" after its timeout; this says "connection refused" (or
        // what else went wrong) at once.
        sqlx::ConnectOptions::connect(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it hands out by default: one
            // more round trip per statement, and a PostgreSQL backend woken
            // for it (under load, as many pings as queries). A connection
            // that has been busy is known alive; one idle for a while (the
            // database may have restarted meanwhile) is still pinged, so a
            // dead one is replaced rather than failing a request.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore {
            writer: pool.clone(),
            batches: GrantBatches::start(&pool),
            pool,
        })
    }
}

impl PostgresStore {
    /// The grants' reads and writes asked of the batches, and the
    /// statements they took: under load, fewer statements than calls.
    pub fn grant_statements(&self) -> (u64, u64) {
        self.batches.counts()
    }

    /// How a write transaction begins: row locks order PostgreSQL's writers.
    pub(super) const BEGIN_WRITE: &'static str = "BEGIN";
}

sql_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
directory_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
device_code_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
assertion_store!(PostgresStore);
sign_in_log_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
