//! WAL checkpoints on a thread of their own. SQLite's default runs one in
//! whichever commit finds the WAL past 1,000 pages: that grant then copies
//! the WAL into the database and waits for two `fsync`s while holding the
//! write lock, and every grant behind it waits too. Here a thread makes a
//! PASSIVE checkpoint every `INTERVAL` (it never blocks a writer or a
//! reader, and a hot page changed many times in between is copied once);
//! the connections' own automatic checkpoint stays as a backstop, at
//! `BACKSTOP_PAGES`, for a WAL the thread cannot keep up with.
//!
//! A PASSIVE checkpoint alone does not keep the WAL short under steady
//! writes. The WAL starts over from its first page only when a writer
//! finds every frame of it checkpointed, and by the time a checkpoint has
//! copied the frames and synced the database, new grants have written
//! more: so the WAL grew without end, and once past the backstop every
//! commit ran a checkpoint of its own, `fsync`s included. So when a WAL has
//! grown past `RESTART_FRAMES`, the thread follows its PASSIVE checkpoint
//! with a RESTART one, on the grant writer's connection, in its turn in
//! that writer's queue (`sqlite_writer::in_turn`: racing the grants for
//! SQLite's write lock, a waiter that sleeps between tries seldom wins
//! while they commit back to back). It copies what the first left (a few
//! pages), waits for the readers of older snapshots (each a lookup long;
//! at most about 5 ms, so a long query only puts the restart off), and the
//! next grant starts the WAL over. Grants queue meanwhile.
//!
//! Durability does not change: a commit is in the WAL before it is
//! answered either way; checkpoints only move it into the database file.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;
use super::sqlite_busy;
use super::sqlite_writer::SqliteWriter;

/// Between two checkpoints.
const INTERVAL: Duration = Duration::from_millis(200);

/// A WAL longer than this (in frames, a page each) after a PASSIVE
/// checkpoint is started over (16 MiB: at 10,000 grants a second, about
/// every half second).
const RESTART_FRAMES: i64 = 4_000;

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
    /// `path` and, for the RESTART, on `grants`'.
    pub fn start(path: &Path, grants: SqliteWriter) -> Result<Checkpoints, StoreError> {
        let conn = Connection::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoints".into())
            .spawn(move || run(&conn, &grants, &stopped, INTERVAL, RESTART_FRAMES))
            .map_err(StoreError::Files)?;
        Ok(Checkpoints { _stop: stop })
    }
}

fn run(
    conn: &Connection,
    grants: &SqliteWriter,
    stopped: &mpsc::Receiver<()>,
    interval: Duration,
    restart_frames: i64,
) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        if let Err(err) = checkpoint(conn, grants, restart_frames) {
            tracing::warn!(error = %err, "a WAL checkpoint failed; the next one tries again");
        }
    }
}

/// A PASSIVE checkpoint: as much of the WAL as no reader still needs; then,
/// if the WAL is longer than `restart_frames`, a RESTART one.
fn checkpoint(
    conn: &Connection,
    grants: &SqliteWriter,
    restart_frames: i64,
) -> rusqlite::Result<()> {
    let frames = wal_checkpoint(conn, "PASSIVE")?;
    if frames <= restart_frames {
        return Ok(());
    }
    // It holds the write lock while it waits for the readers of older
    // snapshots: briefly. One still reading then (a long query) makes it a
    // PASSIVE checkpoint again, and the next interval tries again.
    // `None`: the writer is gone (the store is closing); nothing to do.
    grants
        .in_turn(|conn| {
            sqlite_busy::wait_briefly(conn)?;
            let restarted = wal_checkpoint(conn, "RESTART").map(drop);
            sqlite_busy::wait_in_steps(conn)?;
            restarted
        })
        .unwrap_or(Ok(()))
}

/// `PRAGMA wal_checkpoint(mode)`: the frames in the WAL.
fn wal_checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get(1)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// A database in WAL mode with no automatic checkpoint, and `rows`
    /// blobs of `bytes` in its WAL.
    fn database_with_rows_in_the_wal(
        rows: usize,
        bytes: usize,
    ) -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v BLOB)",
        )
        .unwrap();
        for _ in 0..rows {
            conn.execute("INSERT INTO t (v) VALUES (zeroblob(?1))", [bytes])
                .unwrap();
        }
        (dir, path, conn)
    }

    #[test]
    fn the_thread_copies_the_wal_into_the_database() {
        let (_dir, path, conn) = database_with_rows_in_the_wal(50, 8_000);
        let database_bytes = || std::fs::metadata(&path).unwrap().len();
        // The rows are in the WAL only: the database file has its first
        // pages.
        assert!(database_bytes() < 50_000, "{} bytes", database_bytes());
        let checkpoints = Checkpoints::start(&path, SqliteWriter::start(&path).unwrap()).unwrap();
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

    /// The bytes of the WAL file: its high-water mark, as SQLite writes
    /// over it from the start once it starts over.
    fn wal_bytes(path: &Path) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
    }

    /// `writes` grants (a commit each) through the grant writer, with
    /// readers at work throughout, while a checkpoint thread runs with
    /// `restart_frames`: the WAL's largest size, in frames.
    async fn wal_frames_under_writes(restart_frames: i64, writes: usize) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v BLOB)")
            .unwrap();
        let grants = SqliteWriter::start(&path).unwrap();
        // Only the thread checkpoints.
        grants
            .in_turn(|conn| conn.execute_batch("PRAGMA wal_autocheckpoint = 0").unwrap())
            .unwrap();
        let (stop, stopped) = mpsc::channel::<()>();
        let checkpointer = {
            let conn = Connection::open(&path).unwrap();
            let grants = grants.clone();
            std::thread::spawn(move || {
                run(
                    &conn,
                    &grants,
                    &stopped,
                    Duration::from_millis(5),
                    restart_frames,
                )
            })
        };
        let reading = Arc::new(AtomicBool::new(true));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let conn = Connection::open(&path).unwrap();
                sqlite_busy::wait_in_steps(&conn).unwrap();
                let reading = reading.clone();
                std::thread::spawn(move || {
                    while reading.load(Ordering::Relaxed) {
                        conn.query_row("SELECT count(*) FROM t WHERE rowid = 1", [], |row| {
                            row.get::<_, i64>(0)
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for _ in 0..writes {
            grants
                .run(|conn| {
                    conn.execute("INSERT INTO t (v) VALUES (zeroblob(3000))", [])?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        reading.store(false, Ordering::Relaxed);
        readers.into_iter().for_each(|r| r.join().unwrap());
        drop(stop);
        checkpointer.join().unwrap();
        wal_bytes(&path) / 4_120
    }

    #[tokio::test]
    async fn the_wal_starts_over_under_steady_writes() {
        // 4,000 commits of a frame or two each: the WAL never starts over
        // with PASSIVE checkpoints alone (none of them finds it all
        // checkpointed), and does with the RESTART.
        let passive_only = wal_frames_under_writes(i64::MAX, 4_000).await;
        assert!(passive_only >= 4_000, "{passive_only} frames");
        let restarted = wal_frames_under_writes(100, 4_000).await;
        assert!(restarted < 2_500, "the WAL grew to {restarted} frames");
    }

    #[test]
    fn a_long_read_holds_the_restart_back_briefly() {
        let (_dir, path, conn) = database_with_rows_in_the_wal(50, 3_000);
        // A read with a snapshot in the WAL, open throughout.
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        reader
            .query_row("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0))
            .unwrap();
        conn.execute("INSERT INTO t (v) VALUES (zeroblob(3000))", [])
            .unwrap();
        let grants = SqliteWriter::start(&path).unwrap();
        let started = std::time::Instant::now();
        checkpoint(&Connection::open(&path).unwrap(), &grants, 10).unwrap();
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(1),
            "the RESTART waited {waited:?}"
        );
        reader.execute_batch("COMMIT").unwrap();
    }
}
