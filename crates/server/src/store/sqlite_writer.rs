//! SQLite's grant writes over a connection of their own (rusqlite): a
//! grant's whole transaction is one call, with statements prepared once,
//! instead of a hand-off between threads at every statement (sqlx's SQLite
//! driver sends each to its connection's worker and back).
//!
//! When the connection is free and nothing is queued, a grant runs in
//! place, on the calling thread, in a transaction of its own: no thread
//! hop, as SQLite's reads (`sqlite_readers`). It never waits there: if
//! another connection holds SQLite's write lock, or another grant holds
//! this connection, it goes to the queue.
//!
//! Group commit, for the queue: a thread of its own takes every grant
//! queued while the connection was busy, runs them in one transaction,
//! each in a savepoint of its own (a failing one is rolled back alone),
//! commits once, and only then answers each. An answered grant is
//! committed; a crash before the commit loses only grants nobody was told
//! about, and a grant is never applied twice.
//!
//! The connection serves two more callers: a grant's read, in place when
//! the connection is free (`read_if_free`: its page cache is warm), and
//! work that must take its turn in the queue between two batches
//! (`in_turn`: the WAL checkpoint that starts the WAL over).

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, mpsc};

use rusqlite::{Connection, ErrorCode};
use tokio::sync::oneshot;

use super::StoreError;
use super::sqlite_busy;
use super::sqlite_checkpoints::BACKSTOP_PAGES;

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
        let result = control(conn, "SAVEPOINT grant")
            .map_err(StoreError::from)
            .and_then(|()| {
                let result = work(conn);
                if result.is_err() {
                    control(conn, "ROLLBACK TO grant")?;
                }
                control(conn, "RELEASE grant")?;
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

/// The handle: runs work in place, or queues it for the writer thread.
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    jobs: mpsc::Sender<Message>,
    shared: Arc<Shared>,
}

/// What the handles and the thread share.
#[derive(Debug)]
struct Shared {
    conn: Mutex<Connection>,
    /// Grants sent to the thread and not yet taken: while there are any, a
    /// new grant queues behind them rather than overtaking them.
    queued: AtomicUsize,
    counts: Counts,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding it may have left a transaction open:
        // `discard_unfinished` rolls it back before the next one begins.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How many grants were written, in how many commits.
#[derive(Debug, Default)]
pub struct Counts {
    pub grants: AtomicU64,
    pub commits: AtomicU64,
}

impl Counts {
    fn committed(&self, grants: usize) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.grants.fetch_add(grants as u64, Ordering::Relaxed);
    }
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
        // committed), checkpoints left to `sqlite_checkpoints`' thread, and
        // a wait, not an error, while another writer holds the lock.
        sqlite_busy::wait_in_steps(&conn)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES};"
        ))?;
        let (jobs, queue) = mpsc::channel::<Message>();
        let shared = Arc::new(Shared {
            conn: Mutex::new(conn),
            queued: AtomicUsize::new(0),
            counts: Counts::default(),
        });
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(&thread_shared, queue))
            .map_err(StoreError::Files)?;
        Ok(SqliteWriter { jobs, shared })
    }

    /// The grants written and the commits they took, so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.shared.counts.grants.load(Ordering::Relaxed),
            self.shared.counts.commits.load(Ordering::Relaxed),
        )
    }

    /// Runs `work` in a transaction; its result once that transaction (and
    /// whatever shared its commit) is committed.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let work = match self.run_in_place(work) {
            Ok(result) => return result,
            Err(work) => work,
        };
        let (reply, answer) = oneshot::channel();
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        if self
            .jobs
            .send(Message::Grant(Box::new(Typed { work, reply })))
            .is_err()
        {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(StoreError::WriterGone);
        }
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `read` on this connection, in place, if it is free and no grant
    /// is queued for it; otherwise gives `read` back, untouched. Its page
    /// cache is warm: it wrote those pages itself. A reader's cache is
    /// emptied by every commit since that reader's last read, and under
    /// load there is one between any two reads.
    pub fn read_if_free<T, F>(&self, read: F) -> Result<Result<T, StoreError>, F>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        match self.free_connection() {
            Some(conn) => Ok(read(&conn)),
            None => Err(read),
        }
    }

    /// Runs `work` on this connection outside any transaction, in its turn
    /// in the queue: after the grants queued before it, before those that
    /// come after (which queue meanwhile, as behind any queued grant). For
    /// what must take turns with the grants rather than race them for the
    /// connection or SQLite's write lock, which a waiter that sleeps
    /// between tries seldom wins while they commit back to back
    /// (`sqlite_checkpoints`' RESTART). Blocks the calling thread; `None`
    /// if the writer is gone.
    pub fn in_turn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = mpsc::channel();
        let work: Box<dyn FnOnce(&Connection) + Send> = Box::new(move |conn| {
            let _ = reply.send(work(conn));
        });
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        if self.jobs.send(Message::InTurn(work)).is_err() {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        answer.recv().ok()
    }

    /// The connection, if no grant is queued for it (one that is goes
    /// first) and nothing holds it; with no transaction open.
    fn free_connection(&self) -> Option<MutexGuard<'_, Connection>> {
        if self.shared.queued.load(Ordering::Acquire) != 0 {
            return None;
        }
        let conn = match self.shared.conn.try_lock() {
            Ok(conn) => conn,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        discard_unfinished(&conn);
        Some(conn)
    }

    /// `work` in its own transaction on this thread, if the connection is
    /// free, nothing is queued and SQLite's write lock can be had at once;
    /// otherwise `work` back, untouched.
    fn run_in_place<T, F>(&self, work: F) -> Result<Result<T, StoreError>, F>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let Some(conn) = self.free_connection() else {
            return Err(work);
        };
        if let Err(err) = begin_without_waiting(&conn) {
            return match err {
                Some(err) => Ok(Err(err)),
                None => Err(work),
            };
        }
        let result = work(&conn);
        let end = match &result {
            Ok(_) => control(&conn, "COMMIT"),
            Err(_) => control(&conn, "ROLLBACK"),
        };
        Ok(match (result, end) {
            (Ok(value), Ok(())) => {
                self.shared.counts.committed(1);
                Ok(value)
            }
            (Ok(_), Err(err)) => {
                tracing::error!(error = %err, "a grant's commit failed");
                let _ = conn.execute_batch("ROLLBACK");
                Err(err.into())
            }
            (Err(err), _) => Err(err),
        })
    }
}

/// A transaction-control statement, prepared once (a grant runs two to
/// four of them; `execute_batch` would parse each every time).
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Rolls back a transaction a grant left open: one that panicked in place
/// (its caller's task unwound with the lock held). Nothing of it was
/// answered, so nothing answered is lost; without this every later BEGIN
/// would fail.
fn discard_unfinished(conn: &Connection) {
    if !conn.is_autocommit() {
        tracing::error!("a grant left its transaction open: rolled back");
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// BEGIN IMMEDIATE with no wait for SQLite's write lock: `Err(None)` if
/// another connection holds it (the grant goes to the queue, whose thread
/// waits), `Err(Some)` for any other failure.
fn begin_without_waiting(conn: &Connection) -> Result<(), Option<StoreError>> {
    sqlite_busy::never_wait(conn).map_err(|e| Some(e.into()))?;
    let begun = control(conn, "BEGIN IMMEDIATE");
    sqlite_busy::wait_in_steps(conn).map_err(|e| Some(e.into()))?;
    match begun {
        Ok(()) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => Err(None),
        Err(err) => Err(Some(err.into())),
    }
}

/// What the thread is sent.
enum Message {
    /// A grant, to commit with the others queued beside it.
    Grant(Box<dyn Job>),
    /// Work outside any transaction, between two batches (`in_turn`).
    InTurn(Box<dyn FnOnce(&Connection) + Send>),
}

/// The thread: in the queue's order, a batch of grants at a time (one
/// commit per batch) or a piece of work in its turn.
fn serve(shared: &Shared, queue: mpsc::Receiver<Message>) {
    let mut next = queue.recv().ok();
    while let Some(message) = next.take() {
        let first = match message {
            Message::Grant(first) => first,
            Message::InTurn(work) => {
                let conn = shared.lock();
                shared.queued.fetch_sub(1, Ordering::AcqRel);
                discard_unfinished(&conn);
                work(&conn);
                drop(conn);
                next = queue.recv().ok();
                continue;
            }
        };
        let conn = shared.lock();
        let mut batch = vec![first];
        // The grants queued behind it, up to the first work in its turn
        // (which waits for this batch's commit).
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Message::Grant(job)) => batch.push(job),
                Ok(in_turn) => {
                    next = Some(in_turn);
                    break;
                }
                Err(_) => break,
            }
        }
        shared.queued.fetch_sub(batch.len(), Ordering::AcqRel);
        commit_batch(shared, &conn, batch);
        drop(conn);
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

/// One transaction for `batch`, each grant in a savepoint; then each is
/// answered, with whether the commit happened.
fn commit_batch(shared: &Shared, conn: &Connection, batch: Vec<Box<dyn Job>>) {
    discard_unfinished(conn);
    if let Err(err) = control(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %err, "the writer could not begin a transaction");
        // Each job's reply is dropped unanswered: its caller is told
        // the write failed (`WriterGone`), and nothing was written.
        return;
    }
    let answers: Vec<Box<dyn Answer>> = batch.into_iter().map(|job| job.run(conn)).collect();
    let committed = match control(conn, "COMMIT") {
        Ok(()) => {
            shared.counts.committed(answers.len());
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

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

    /// A grant that inserts `v`.
    fn insert(v: i64) -> impl FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(())
        }
    }

    /// `work` run through the writer on a task of its own.
    fn spawn_run<F>(
        writer: &SqliteWriter,
        work: F,
    ) -> tokio::task::JoinHandle<Result<(), StoreError>>
    where
        F: FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        let writer = writer.clone();
        tokio::spawn(async move { writer.run(work).await })
    }

    /// The rows committed, in order.
    fn rows(dir: &tempfile::TempDir) -> Vec<i64> {
        let conn = Connection::open(dir.path().join("db")).unwrap();
        conn.prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Holds the writer's connection (as a long grant in place would)
    /// until the returned sender is dropped or sent to.
    async fn hold_connection(writer: &SqliteWriter) -> oneshot::Sender<()> {
        let (release, released) = oneshot::channel::<()>();
        let (held, holding) = oneshot::channel();
        let shared = writer.shared.clone();
        std::thread::spawn(move || {
            let _conn = shared.lock();
            let _ = held.send(());
            let _ = released.blocking_recv();
        });
        holding.await.unwrap();
        release
    }

    #[tokio::test]
    async fn a_grant_runs_in_place_when_nothing_else_writes() {
        let (_dir, writer) = writer().await;
        for v in 0..5 {
            let thread = writer
                .run(move |conn| {
                    conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                    Ok(std::thread::current().id())
                })
                .await
                .unwrap();
            assert_eq!(thread, std::thread::current().id(), "not run in place");
        }
        assert_eq!(writer.counts(), (5, 5));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grants_queued_meanwhile_share_a_commit_and_each_is_answered() {
        let (_dir, writer) = writer().await;
        // The connection is busy: every grant queues.
        let release = hold_connection(&writer).await;
        let grants: Vec<_> = (0..50)
            .map(|v| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .run(move |conn| {
                            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                            Ok((v, std::thread::current().name().map(str::to_owned)))
                        })
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(release);
        for (v, task) in (0..50).zip(grants) {
            let (answered, thread) = task.await.unwrap().unwrap();
            assert_eq!(answered, v);
            assert_eq!(thread.as_deref(), Some("sqlite-writer"));
        }
        let (grants, commits) = writer.counts();
        assert_eq!(grants, 50);
        assert!(commits < 50, "{commits} commits for 50 grants: no grouping");
    }

    #[tokio::test]
    async fn a_grant_waits_in_the_queue_while_another_connection_writes() {
        let (dir, writer) = writer().await;
        // Another connection (the sqlx pool's writer, or another process)
        // holds SQLite's write lock for a while.
        let other = Connection::open(dir.path().join("db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let lock_holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            other.execute_batch("COMMIT").unwrap();
        });
        let thread = writer
            .run(|conn| {
                conn.execute("INSERT INTO t (v) VALUES (1)", [])?;
                Ok(std::thread::current().name().map(str::to_owned))
            })
            .await
            .unwrap();
        assert_eq!(thread.as_deref(), Some("sqlite-writer"), "waited in place");
        lock_holder.join().unwrap();
        assert_eq!(writer.counts(), (1, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_grant_is_rolled_back_alone() {
        let (dir, writer) = writer().await;
        writer.run(insert(1)).await.unwrap();
        // Two grants in one batch: the second fails (a duplicate key) after
        // writing a row of its own; the first's row stays.
        let release = hold_connection(&writer).await;
        let a = spawn_run(&writer, insert(2));
        let b = spawn_run(&writer, |conn| {
            insert(3)(conn)?;
            insert(1)(conn)
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(release);
        a.await.unwrap().unwrap();
        assert!(b.await.unwrap().is_err());
        assert_eq!(writer.counts(), (3, 2), "the two did not share a commit");
        assert_eq!(rows(&dir), [1, 2]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_grant_that_panics_in_place_leaves_the_writer_working() {
        let (dir, writer) = writer().await;
        let panicked = spawn_run(&writer, |conn| {
            insert(1)(conn)?;
            panic!("a grant's bug");
        })
        .await;
        assert!(panicked.unwrap_err().is_panic());
        // In place (the lock it poisoned is taken back) and on the thread.
        writer.run(insert(2)).await.unwrap();
        let release = hold_connection(&writer).await;
        let queued = spawn_run(&writer, insert(3));
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(release);
        queued.await.unwrap().unwrap();
        assert_eq!(rows(&dir), [2, 3], "the panicked grant's row was kept");
    }

    #[tokio::test]
    async fn a_failing_grant_in_place_writes_nothing() {
        let (dir, writer) = writer().await;
        let failed = writer
            .run(|conn| {
                insert(7)(conn)?;
                insert(7)(conn)
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(rows(&dir), Vec::<i64>::new());
        assert_eq!(writer.counts(), (0, 0));
    }

    /// The values in `t`, read through `read_if_free`, if it reads.
    fn read_rows(writer: &SqliteWriter) -> Option<Vec<i64>> {
        writer
            .read_if_free(|conn| {
                let mut statement = conn.prepare("SELECT v FROM t ORDER BY v")?;
                let rows = statement.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .ok()
            .map(Result::unwrap)
    }

    #[tokio::test]
    async fn a_read_on_the_free_writer_sees_every_commit() {
        let (dir, writer) = writer().await;
        writer.run(insert(1)).await.unwrap();
        assert_eq!(read_rows(&writer), Some(vec![1]));
        // A commit by another connection: the writer's cached pages are
        // stale, and its next read must not use them.
        let other = Connection::open(dir.path().join("db")).unwrap();
        other.execute("INSERT INTO t (v) VALUES (2)", []).unwrap();
        assert_eq!(read_rows(&writer), Some(vec![1, 2]));
        // Nor does a read leave a transaction open that would hide a later
        // commit, or hold the write lock from the other connection.
        other.execute("INSERT INTO t (v) VALUES (3)", []).unwrap();
        assert_eq!(read_rows(&writer), Some(vec![1, 2, 3]));
        writer.run(insert(4)).await.unwrap();
        assert_eq!(rows(&dir), [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_read_gives_way_to_a_grant_holding_or_waiting_for_the_writer() {
        let (_dir, writer) = writer().await;
        let release = hold_connection(&writer).await;
        assert_eq!(
            read_rows(&writer),
            None,
            "read while the connection was held"
        );
        drop(release);
        while writer.shared.conn.try_lock().is_err() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The connection is free, but a grant is in the queue (sent, not
        // yet taken by the thread): the read does not go ahead of it.
        writer.shared.queued.fetch_add(1, Ordering::AcqRel);
        assert_eq!(read_rows(&writer), None, "read ahead of a queued grant");
        writer.shared.queued.fetch_sub(1, Ordering::AcqRel);
        assert_eq!(read_rows(&writer), Some(vec![]));
    }
}
