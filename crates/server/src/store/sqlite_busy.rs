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
/// `wait_briefly`'s steps.
const BRIEF_STEPS: i32 = 100;
/// Then longer ones, up to about 10 s in all (the sqlx pools'
/// `busy_timeout`), after which the statement fails with SQLITE_BUSY.
const LONG_STEP: Duration = Duration::from_millis(1);
const LONG_STEPS: i32 = 10_000;

/// Waits for locks in short steps, then longer ones, about 10 s in all.
pub fn wait_in_steps(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(step))
}

/// Short steps only, about 5 ms in all: for what waits for other
/// connections while it holds the write lock (`sqlite_checkpoints`'
/// RESTART, waiting for readers), so a long read holds the grants back by
/// no more than that.
pub fn wait_briefly(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(brief_step))
}

/// The busy callback of `wait_briefly`.
fn brief_step(attempt: i32) -> bool {
    let waits = attempt < BRIEF_STEPS;
    if waits {
        std::thread::sleep(SHORT_STEP);
    }
    waits
}

/// Fails at once (SQLITE_BUSY) while another connection holds the lock.
pub fn never_wait(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(None)
}

/// SQLite's busy callback: `attempt` is how many times it was called for
/// this lock; true to try again after the pause.
fn step(attempt: i32) -> bool {
    match pause(attempt) {
        Some(pause) => {
            std::thread::sleep(pause);
            true
        }
        None => false,
    }
}

/// How long to wait before the try after `attempt`; `None`: give up.
fn pause(attempt: i32) -> Option<Duration> {
    match attempt {
        a if a < SHORT_STEPS => Some(SHORT_STEP),
        a if a < SHORT_STEPS + LONG_STEPS => Some(LONG_STEP),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_steps_then_long_ones_then_about_ten_seconds_in_all() {
        assert_eq!(pause(0), Some(Duration::from_micros(50)));
        assert_eq!(pause(199), Some(Duration::from_micros(50)));
        assert_eq!(pause(200), Some(Duration::from_millis(1)));
        assert_eq!(pause(10_199), Some(Duration::from_millis(1)));
        assert_eq!(pause(10_200), None);
        let total: Duration = (0..).map_while(pause).sum();
        assert_eq!(total, Duration::from_millis(10_010));
    }

    #[test]
    fn a_lock_held_is_refused_at_once_or_waited_for() {
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
            std::thread::sleep(Duration::from_millis(20));
            holder.execute_batch("COMMIT").unwrap();
        });
        waiter.execute_batch("BEGIN IMMEDIATE").unwrap();
        waiter.execute_batch("COMMIT").unwrap();
        release.join().unwrap();
    }
}
