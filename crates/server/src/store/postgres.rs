//! PostgreSQL, for several replicas on one database. The statements are the
//! SQLite engine's (`sql_store!`); only connecting and the DDL differ.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreError;
use super::assertions::assertion_store;
use super::device_codes::device_code_store;
use super::directory::directory_store;
use super::sign_ins::sign_in_log_store;
use super::sql::sql_store;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
    /// The same pool: PostgreSQL's row locks order concurrent writers.
    pub(super) writer: PgPool,
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
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore {
            writer: pool.clone(),
            pool,
        })
    }
}

impl PostgresStore {
    /// How a write transaction begins: row locks order PostgreSQL's writers.
    pub(super) const BEGIN_WRITE: &'static str = "BEGIN";
}

sql_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
directory_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
device_code_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
assertion_store!(PostgresStore);
sign_in_log_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
