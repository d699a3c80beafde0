//! WAL checkpoints on a thread of their own. SQLite's default runs one in
//! whichever commit finds the WAL past 1,000 pages: that grant then copies
//! the WAL into the database and waits for two `fsync`s while holding the
//! write lock, and every grant behind it waits too. Here a thread makes a
//! PASSIVE checkpoint every `INTERVAL` (it never blocks a writer or a
//! reader, and a hot page changed many times in between is copied once);
//! the connections' own automatic checkpoint stays as a backstop, at
//! `BACKSTOP_PAGES`, for a WAL the thread cannot keep up with.
//!
//! Durability does not change: a commit is in the WAL before it is
//! answered either way; checkpoints only move it into the database file.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// Between two checkpoints.
const INTERVAL: Duration = Duration::from_millis(200);

/// The connections' automatic checkpoint (`PRAGMA wal_autocheckpoint`,
/// in pages of 4 KiB): only if the thread falls this far behind.
pub const BACKSTOP_PAGES: u32 = 16_000;

/// The thread's handle: dropping it (with the store) ends the thread.
#[derive(Debug)]
pub struct Checkpoints {
    _stop: mpsc::Sender<()>,
}

impl Checkpoints {
    /// Starts the thread, on a connection of its own to the database at
    /// `path`.
    pub fn start(path: &Path) -> Result<Checkpoints, StoreError> {
        let conn = Connection::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoints".into())
            .spawn(move || run(&conn, &stopped))
            .map_err(StoreError::Files)?;
        Ok(Checkpoints { _stop: stop })
    }
}

fn run(conn: &Connection, stopped: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        if let Err(err) = checkpoint(conn) {
            tracing::warn!(error = %err, "a WAL checkpoint failed; the next one tries again");
        }
    }
}

/// One PASSIVE checkpoint: as much of the WAL as no reader still needs.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_copies_the_wal_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v BLOB)",
        )
        .unwrap();
        for _ in 0..50 {
            conn.execute("INSERT INTO t (v) VALUES (zeroblob(8000))", [])
                .unwrap();
        }
        let database_bytes = || std::fs::metadata(&path).unwrap().len();
        // The rows are in the WAL only: the database file has its first
        // pages.
        assert!(database_bytes() < 50_000, "{} bytes", database_bytes());
        let checkpoints = Checkpoints::start(&path).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while database_bytes() < 50 * 8_000 {
            assert!(std::time::Instant::now() < deadline, "never checkpointed");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(checkpoints);
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 50);
    }
}
