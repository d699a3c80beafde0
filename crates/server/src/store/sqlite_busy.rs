//! How the rusqlite connections (the grants' writer and readers) wait for a
//! lock another connection holds: in steps of 50 µs at first. SQLite's own
//! busy handler (`busy_timeout`) sleeps 1, 2, 5, 10… ms at a time, so a
//! grant writer that found the sign-in log's batch holding the write lock
//! for a millisecond slept for three, and every grant queued behind it
//! waited with the cores idle.

use std::time::Duration;

use rusqlite::Connection;

/// Short steps first: a grant or a sign-in-log batch holds the lock for
/// well under a millisecond to a few.
const SHORT_STEP: Duration = Duration::from_micros(50);
const SHORT_STEPS: i32 = 200;
/// Then longer ones, up to about 10 s in all (the sqlx pools'
/// `busy_timeout`), after which the statement fails with SQLITE_BUSY.
const LONG_STEP: Duration = Duration::from_millis(1);
const LONG_STEPS: i32 = 10_000;

/// Waits for locks in short steps, then longer ones, about 10 s in all.
pub fn wait_in_steps(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(step))
}

/// Fails at once (SQLITE_BUSY) while another connection holds the lock.
pub fn never_wait(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(None)
}

/// SQLite's busy callback: `attempt` is how many times it was called for
/// this lock; true to try again after the sleep.
fn step(attempt: i32) -> bool {
    let sleep = match attempt {
        a if a < SHORT_STEPS => SHORT_STEP,
        a if a < SHORT_STEPS + LONG_STEPS => LONG_STEP,
        _ => return false,
    };
    std::thread::sleep(sleep);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_held_briefly_is_waited_for_in_short_steps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)")
            .unwrap();
        let waiter = Connection::open(&path).unwrap();

        never_wait(&waiter).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let busy = waiter.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert_eq!(
            busy.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy)
        );

        wait_in_steps(&waiter).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(3));
            holder.execute_batch("COMMIT").unwrap();
        });
        let asked = std::time::Instant::now();
        waiter.execute_batch("BEGIN IMMEDIATE").unwrap();
        let waited = asked.elapsed();
        release.join().unwrap();
        waiter.execute_batch("COMMIT").unwrap();
        // SQLite's own handler would have slept 1 + 2 + 5 ms at least.
        assert!(waited < Duration::from_millis(8), "waited {waited:?}");
    }
}
