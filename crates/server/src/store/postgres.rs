//! PostgreSQL, for several replicas on one database. The statements are the
//! SQLite engine's (`sql_store!`); only connecting and the DDL differ.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreError;
use super::sql::sql_store;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open_url(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with `options` and migrates the database.
    pub async fn connect(options: PgConnectOptions) -> Result<PostgresStore, StoreError> {
        let store = PostgresStore::connect_unmigrated(options).await?;
        MIGRATOR.run(&store.pool).await?;
        Ok(store)
    }

    /// Connects without touching the schema (`latchkey db migrate` runs
    /// the migrations itself).
    pub async fn connect_unmigrated(
        options: PgConnectOptions,
    ) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(PostgresStore { pool })
    }

    /// Runs the migrations not yet applied; the names of those it ran.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}

sql_store!(PostgresStore, sqlx::Postgres, sqlx::postgres::PgRow);
