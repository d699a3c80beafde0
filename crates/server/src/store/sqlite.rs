//! The embedded default engine: one SQLite file in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;
use super::assertions::assertion_store;
use super::device_codes::device_code_store;
use super::directory::directory_store;
use super::sign_ins::sign_in_log_store;
use super::sql::sql_store;
use super::sqlite_checkpoints::{BACKSTOP_PAGES, Checkpoints};
use super::sqlite_readers::SqliteReaders;
use super::sqlite_writer::SqliteWriter;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection for every write. SQLite has one writer anyway; queued
    /// here, writers wait their turn in the pool's queue instead of in
    /// SQLite's busy handler, which sleeps 1–100 ms at a time (p99 of code
    /// redemption under load: 150 ms with the busy handler).
    writer: SqlitePool,
    /// The code and refresh grants' writes: a thread and connection of
    /// their own, a whole grant per call, many grants per commit.
    pub(super) grants: SqliteWriter,
    /// The grants' reads, in place on the calling thread.
    pub(super) readers: Arc<SqliteReaders>,
    /// WAL checkpoints, off the writers' path.
    _checkpoints: Arc<Checkpoints>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::connect(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite://path` URL.
    pub async fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        SqliteStore::connect(SqliteConnectOptions::from_str(url)?).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        make_private(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL survives a process crash; only an OS crash
            // can lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("wal_autocheckpoint", BACKSTOP_PAGES.to_string());
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let grants = SqliteWriter::start(options.get_filename())?;
        let readers = Arc::new(SqliteReaders::open(options.get_filename(), 4)?);
        let checkpoints = Arc::new(Checkpoints::start(options.get_filename(), grants.clone())?);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A file's connection cannot go away under us; sqlx's ping
            // before every use would be a thread hop for nothing.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            pool,
            writer,
            grants,
            readers,
            _checkpoints: checkpoints,
        })
    }
}

impl SqliteStore {
    /// How the writer connection begins a transaction: IMMEDIATE takes the
    /// write lock first, so a transaction that reads before it writes
    /// never finds its snapshot outdated by the grant writer's commits
    /// (SQLITE_BUSY_SNAPSHOT); it waits for the lock instead.
    pub(super) const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    /// The grants the writer thread has written, and the commits they
    /// took: under load, fewer commits than grants (group commit).
    pub fn grant_commits(&self) -> (u64, u64) {
        self.grants.counts()
    }
}

/// The database created 0600 (SQLite gives its `-wal` and `-shm` the same
/// mode), and an existing one corrected: its signing keys forge tokens.
fn make_private(path: &Path) -> Result<(), StoreError> {
    let name = path.as_os_str();
    if name.is_empty() || name == ":memory:" {
        return Ok(());
    }
    let with_suffix = |suffix: &str| {
        let mut name = name.to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    crate::private_files::ensure_private_file(path)
        .and_then(|()| crate::private_files::correct_if_present(&with_suffix("-wal")))
        .and_then(|()| crate::private_files::correct_if_present(&with_suffix("-shm")))
        .map_err(StoreError::Files)
}

sql_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
directory_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
device_code_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
assertion_store!(SqliteStore);
sign_in_log_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
