//! SQLite's grant writes on a thread of their own, over a connection of its
//! own (rusqlite): a grant's whole transaction is one call on that thread,
//! with statements prepared once, instead of a hand-off between threads at
//! every statement (sqlx's SQLite driver sends each to its connection's
//! worker and back).
//!
//! Group commit: the thread takes every grant queued while it was busy,
//! runs them in one transaction, each in a savepoint of its own (a failing
//! one is rolled back alone), commits once, and only then answers each.
//! An answered grant is committed; a crash before the commit loses only
//! grants nobody was told about, and a grant is never applied twice. Under
//! no load a batch is one grant, so nothing waits for company.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::StoreError;

/// The most grants one commit takes (a bound on how long the first one
/// waits for the others' work).
const MAX_BATCH: usize = 64;

/// A unit of work: run in a savepoint, it yields what to answer once the
/// batch's commit is known.
trait Job: Send {
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Answer>;
}

/// A job's result, held until its batch commits.
trait Answer: Send {
    fn send(self: Box<Self>, committed: bool);
}

struct Typed<T, F> {
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

struct Pending<T> {
    result: Result<T, StoreError>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Answer> {
        let Typed { work, reply } = *self;
        let result = conn
            .execute_batch("SAVEPOINT grant")
            .map_err(StoreError::from)
            .and_then(|()| {
                let result = work(conn);
                let end = match &result {
                    Ok(_) => "RELEASE grant",
                    Err(_) => "ROLLBACK TO grant; RELEASE grant",
                };
                conn.execute_batch(end)?;
                result
            });
        Box::new(Pending { result, reply })
    }
}

impl<T: Send> Answer for Pending<T> {
    fn send(self: Box<Self>, committed: bool) {
        let result = match self.result {
            Ok(_) if !committed => Err(StoreError::WriterGone),
            other => other,
        };
        // A caller that went away (its client hung up) is told nothing;
        // what it asked for is committed all the same.
        let _ = self.reply.send(result);
    }
}

/// The handle: queues work for the writer thread.
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    jobs: mpsc::Sender<Box<dyn Job>>,
    counts: Arc<Counts>,
}

/// How many grants the thread wrote, in how many commits.
#[derive(Debug, Default)]
pub struct Counts {
    pub grants: AtomicU64,
    pub commits: AtomicU64,
}

impl std::fmt::Debug for dyn Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl SqliteWriter {
    /// Opens a connection to the (already migrated) database at `path` and
    /// starts the thread; it ends when the last handle is dropped.
    pub fn start(path: &Path) -> Result<SqliteWriter, StoreError> {
        let name = path.as_os_str();
        if name.is_empty() || name == ":memory:" {
            return Err(StoreError::Corrupt(
                "an in-memory SQLite database cannot be shared with the writer thread: give a file"
                    .into(),
            ));
        }
        let conn = Connection::open(path)?;
        // As the sqlx pools: WAL, NORMAL (a process crash loses nothing
        // committed), and a wait, not an error, while another writer holds
        // the lock.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )?;
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let counts = Arc::new(Counts::default());
        let thread_counts = counts.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(conn, queue, &thread_counts))
            .map_err(StoreError::Files)?;
        Ok(SqliteWriter { jobs, counts })
    }

    /// The grants written and the commits they took, so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.counts.grants.load(Ordering::Relaxed),
            self.counts.commits.load(Ordering::Relaxed),
        )
    }

    /// Runs `work` in a transaction on the writer thread; its result once
    /// that transaction (and whatever shared its commit) is committed.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(Typed { work, reply }))
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

/// The thread: a batch at a time, one commit per batch.
fn serve(conn: Connection, queue: mpsc::Receiver<Box<dyn Job>>, counts: &Counts) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %err, "the writer could not begin a transaction");
            // Each job's reply is dropped unanswered: its caller is told
            // the write failed (`WriterGone`), and nothing was written.
            drop(batch);
            continue;
        }
        let answers: Vec<Box<dyn Answer>> = batch.into_iter().map(|job| job.run(&conn)).collect();
        let committed = match conn.execute_batch("COMMIT") {
            Ok(()) => {
                counts.commits.fetch_add(1, Ordering::Relaxed);
                counts
                    .grants
                    .fetch_add(answers.len() as u64, Ordering::Relaxed);
                true
            }
            Err(err) => {
                tracing::error!(error = %err, "the writer's commit failed");
                let _ = conn.execute_batch("ROLLBACK");
                false
            }
        };
        for answer in answers {
            answer.send(committed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn writer() -> (tempfile::TempDir, SqliteWriter) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        drop(conn);
        let writer = SqliteWriter::start(&path).unwrap();
        (dir, writer)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grants_queued_meanwhile_share_a_commit_and_each_is_answered() {
        let (_dir, writer) = writer().await;
        // The first grant holds the thread a while: the others queue.
        let first = writer.run(|conn| {
            std::thread::sleep(Duration::from_millis(50));
            conn.execute("INSERT INTO t (v) VALUES (0)", [])?;
            Ok(0)
        });
        let rest = (1..50).map(|v| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .run(move |conn| {
                        conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                        Ok(v)
                    })
                    .await
            })
        });
        let rest: Vec<_> = rest.collect();
        assert_eq!(first.await.unwrap(), 0);
        for (v, task) in (1..50).zip(rest) {
            assert_eq!(task.await.unwrap().unwrap(), v);
        }
        let (grants, commits) = writer.counts();
        assert_eq!(grants, 50);
        assert!(commits < 50, "{commits} commits for 50 grants: no grouping");
    }

    #[tokio::test]
    async fn a_failing_grant_is_rolled_back_alone() {
        let (dir, writer) = writer().await;
        let taken = writer.run(|conn| {
            conn.execute("INSERT INTO t (v) VALUES (1)", [])?;
            Ok(())
        });
        taken.await.unwrap();
        // Two grants in one batch: the second fails (a duplicate key) after
        // writing a row of its own; the first's row stays.
        let (slow, a, b) = tokio::join!(
            writer.run(|_| {
                std::thread::sleep(Duration::from_millis(30));
                Ok(())
            }),
            writer.run(|conn| {
                conn.execute("INSERT INTO t (v) VALUES (2)", [])?;
                Ok(())
            }),
            writer.run(|conn| {
                conn.execute("INSERT INTO t (v) VALUES (3)", [])?;
                conn.execute("INSERT INTO t (v) VALUES (1)", [])?;
                Ok(())
            })
        );
        slow.unwrap();
        a.unwrap();
        assert!(b.is_err());
        let conn = Connection::open(dir.path().join("db")).unwrap();
        let rows: Vec<i64> = conn
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [1, 2]);
    }
}
