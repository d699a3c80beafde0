//! Natural batching, for PostgreSQL's grant statements: a statement's cost
//! in PostgreSQL (a backend woken, the executor started, a commit flushed
//! to the WAL) and in sqlx (a connection taken, the messages written and
//! read) is mostly per statement, not per row. So each kind of grant
//! statement has a task of its own that runs at most `in_flight` batches
//! at once; what arrives meanwhile waits in its queue, and the next batch
//! takes all of it (up to `MAX_BATCH`). An idle server runs each call
//! alone, at once, with the single-row statement; a loaded one answers
//! many grants per round trip and per commit, each only after its batch's
//! statement has returned (committed, for a write).
//!
//! A batch that fails (a deadlock with another replica's batch, say) is
//! run again one call at a time, so each call gets the answer it would
//! have got alone; one that could not reach the database fails each call
//! at once, rather than making each wait for a connection again. Calls that touch the same row (`BatchOp::key`) never
//! share a batch: the later one waits for the next, so the row lock
//! orders them as it orders single statements. A batch runs in a task of
//! its own: a caller that goes away (its client hung up) stops nothing.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::StoreError;

/// The most calls one statement takes.
pub const MAX_BATCH: usize = 64;

/// One kind of statement, run for one call or for many.
#[async_trait]
pub trait BatchOp: Send + Sync + 'static {
    type Call: Send + Sync + 'static;
    type Output: Send + 'static;

    /// The row a call decides on, if two calls on one row must not share
    /// a statement (writes); `None` for reads.
    fn key(call: &Self::Call) -> Option<Vec<u8>>;

    /// One call alone.
    async fn run_one(&self, call: &Self::Call) -> Result<Self::Output, StoreError>;

    /// Several calls in one statement: an output for each, in order.
    async fn run_many(&self, calls: &[Self::Call]) -> Result<Vec<Self::Output>, StoreError>;
}

type Reply<O> = oneshot::Sender<Result<O, StoreError>>;

/// Calls with the channels that answer them.
type Queued<Op> = Vec<(<Op as BatchOp>::Call, Reply<<Op as BatchOp>::Output>)>;

/// The handle: `call` queues a call and waits for its answer.
#[derive(Debug)]
pub struct Batcher<Op: BatchOp> {
    queue: mpsc::UnboundedSender<(Op::Call, Reply<Op::Output>)>,
    counts: Arc<BatchCounts>,
}

/// Calls answered, and the statements (batches) they took.
#[derive(Debug, Default)]
pub struct BatchCounts {
    calls: AtomicU64,
    statements: AtomicU64,
}

impl BatchCounts {
    fn ran(&self, calls: usize) {
        self.calls.fetch_add(calls as u64, Ordering::Relaxed);
        self.statements.fetch_add(1, Ordering::Relaxed);
    }

    /// (calls, statements) so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.statements.load(Ordering::Relaxed),
        )
    }
}

impl<Op: BatchOp> Batcher<Op> {
    /// Starts the queue's task on the current tokio runtime; it ends when
    /// the last handle is dropped.
    pub fn start(op: Op, in_flight: usize) -> Batcher<Op> {
        let (queue, calls) = mpsc::unbounded_channel();
        let counts = Arc::new(BatchCounts::default());
        tokio::spawn(drive(Arc::new(op), calls, in_flight.max(1), counts.clone()));
        Batcher { queue, counts }
    }

    pub async fn call(&self, call: Op::Call) -> Result<Op::Output, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((call, reply))
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    pub fn counts(&self) -> (u64, u64) {
        self.counts.get()
    }
}

/// The queue's task: waits for a free slot, then for a call, then takes
/// every call queued behind it.
async fn drive<Op: BatchOp>(
    op: Arc<Op>,
    mut calls: mpsc::UnboundedReceiver<(Op::Call, Reply<Op::Output>)>,
    in_flight: usize,
    counts: Arc<BatchCounts>,
) {
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = calls.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match calls.try_recv() {
                Ok(call) => batch.push(call),
                Err(_) => break,
            }
        }
        let op = op.clone();
        let counts = counts.clone();
        tokio::spawn(async move {
            run_in_turns(op.as_ref(), batch, &counts).await;
            drop(slot);
        });
    }
}

/// Runs `batch`, a statement at a time: each takes the calls whose row no
/// earlier call in it decides on; the rest wait for the next.
async fn run_in_turns<Op: BatchOp>(op: &Op, mut batch: Queued<Op>, counts: &BatchCounts) {
    while !batch.is_empty() {
        let (now, later) = split_by_row::<Op>(batch);
        run_statement(op, now, counts).await;
        batch = later;
    }
}

/// The calls that can share a statement, and those that must wait.
fn split_by_row<Op: BatchOp>(batch: Queued<Op>) -> (Queued<Op>, Queued<Op>) {
    let mut rows = HashSet::new();
    batch
        .into_iter()
        .partition(|(call, _)| Op::key(call).is_none_or(|key| rows.insert(key)))
}

async fn run_statement<Op: BatchOp>(op: &Op, batch: Queued<Op>, counts: &BatchCounts) {
    let (calls, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
    if calls.len() == 1 {
        one_at_a_time(op, calls, replies, counts).await;
        return;
    }
    match op.run_many(&calls).await {
        Ok(outputs) if outputs.len() == calls.len() => {
            counts.ran(calls.len());
            for (reply, output) in replies.into_iter().zip(outputs) {
                let _ = reply.send(Ok(output));
            }
        }
        Ok(_) => {
            tracing::error!("a batched statement answered a different number of calls");
            one_at_a_time(op, calls, replies, counts).await;
        }
        Err(err) if err.is_unreachable() => {
            let message = err.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Shared(message.clone())));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, calls = calls.len(), "a batched statement failed: each call runs alone");
            one_at_a_time(op, calls, replies, counts).await;
        }
    }
}

async fn one_at_a_time<Op: BatchOp>(
    op: &Op,
    calls: Vec<Op::Call>,
    replies: Vec<Reply<Op::Output>>,
    counts: &BatchCounts,
) {
    for (call, reply) in calls.iter().zip(replies) {
        let result = op.run_one(call).await;
        counts.ran(1);
        // A caller that went away is told nothing; its call ran all the same.
        let _ = reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A call: its id, and the row it decides on (if any).
    #[derive(Debug, Clone, Copy)]
    struct Call {
        id: u32,
        row: Option<u8>,
    }

    /// Records each statement's calls; the first statement waits for the
    /// gate, so that calls queue behind it.
    #[derive(Default)]
    struct Recorder {
        statements: Mutex<Vec<Vec<u32>>>,
        gate: Mutex<Option<oneshot::Receiver<()>>>,
        many_fails: Option<fn() -> StoreError>,
        fails_alone: Option<u32>,
    }

    impl Recorder {
        async fn wait_at_gate(&self) {
            let gate = self.gate.lock().unwrap().take();
            if let Some(gate) = gate {
                let _ = gate.await;
            }
        }
    }

    #[async_trait]
    impl BatchOp for Arc<Recorder> {
        type Call = Call;
        type Output = u32;

        fn key(call: &Call) -> Option<Vec<u8>> {
            call.row.map(|row| vec![row])
        }

        async fn run_one(&self, call: &Call) -> Result<u32, StoreError> {
            self.wait_at_gate().await;
            self.statements.lock().unwrap().push(vec![call.id]);
            if self.fails_alone == Some(call.id) {
                return Err(StoreError::Corrupt(format!("call {}", call.id)));
            }
            Ok(call.id * 2)
        }

        async fn run_many(&self, calls: &[Call]) -> Result<Vec<u32>, StoreError> {
            self.wait_at_gate().await;
            if let Some(error) = self.many_fails {
                return Err(error());
            }
            self.statements
                .lock()
                .unwrap()
                .push(calls.iter().map(|call| call.id).collect());
            Ok(calls.iter().map(|call| call.id * 2).collect())
        }
    }

    fn gated(recorder: Recorder) -> (Arc<Recorder>, oneshot::Sender<()>) {
        let (open, gate) = oneshot::channel();
        *recorder.gate.lock().unwrap() = Some(gate);
        (Arc::new(recorder), open)
    }

    fn call(id: u32, row: Option<u8>) -> Call {
        Call { id, row }
    }

    /// Starts `calls` in order: the first, until its statement holds the
    /// gate (so it runs alone); then the rest, queued in order behind it.
    async fn queue_all(
        batcher: &Arc<Batcher<Arc<Recorder>>>,
        recorder: &Recorder,
        calls: &[Call],
    ) -> Vec<tokio::task::JoinHandle<Result<u32, StoreError>>> {
        let mut started = Vec::new();
        for (i, &call) in calls.iter().enumerate() {
            let batcher = batcher.clone();
            started.push(tokio::spawn(async move { batcher.call(call).await }));
            tokio::task::yield_now().await;
            while i == 0 && recorder.gate.lock().unwrap().is_some() {
                tokio::task::yield_now().await;
            }
        }
        started
    }

    async fn results(
        started: Vec<tokio::task::JoinHandle<Result<u32, StoreError>>>,
    ) -> Vec<Result<u32, String>> {
        let mut results = Vec::new();
        for call in started {
            results.push(call.await.unwrap().map_err(|err| err.to_string()));
        }
        results
    }

    #[tokio::test]
    async fn an_idle_queue_runs_each_call_alone() {
        let recorder = Arc::new(Recorder::default());
        let batcher = Batcher::start(recorder.clone(), 1);
        for id in 1..=3 {
            assert_eq!(batcher.call(call(id, None)).await.unwrap(), id * 2);
        }
        assert_eq!(*recorder.statements.lock().unwrap(), [[1], [2], [3]]);
        assert_eq!(batcher.counts(), (3, 3));
    }

    #[tokio::test]
    async fn calls_queued_behind_a_statement_share_the_next() {
        let (recorder, open) = gated(Recorder::default());
        let batcher = Arc::new(Batcher::start(recorder.clone(), 1));
        let calls: Vec<Call> = (1..=6).map(|id| call(id, None)).collect();
        let started = queue_all(&batcher, &recorder, &calls).await;
        open.send(()).unwrap();
        let answers = results(started).await;
        assert_eq!(answers, (1..=6).map(|id| Ok(id * 2)).collect::<Vec<_>>());
        assert_eq!(
            *recorder.statements.lock().unwrap(),
            [vec![1], vec![2, 3, 4, 5, 6]]
        );
        assert_eq!(batcher.counts(), (6, 2));
    }

    #[tokio::test]
    async fn calls_on_one_row_never_share_a_statement() {
        let (recorder, open) = gated(Recorder::default());
        let batcher = Arc::new(Batcher::start(recorder.clone(), 1));
        let calls = [
            call(1, Some(9)),
            call(2, Some(1)),
            call(3, Some(2)),
            call(4, Some(1)),
            call(5, None),
            call(6, Some(1)),
            call(7, Some(3)),
        ];
        let started = queue_all(&batcher, &recorder, &calls).await;
        open.send(()).unwrap();
        let answers = results(started).await;
        assert_eq!(answers, (1..=7).map(|id| Ok(id * 2)).collect::<Vec<_>>());
        // Row 1's calls in order, each in a statement after the last.
        assert_eq!(
            *recorder.statements.lock().unwrap(),
            [vec![1], vec![2, 3, 5, 7], vec![4], vec![6]]
        );
    }

    #[tokio::test]
    async fn a_failed_statement_runs_each_call_alone() {
        let (recorder, open) = gated(Recorder {
            many_fails: Some(|| StoreError::Corrupt("the batch".into())),
            fails_alone: Some(3),
            ..Recorder::default()
        });
        let batcher = Arc::new(Batcher::start(recorder.clone(), 1));
        let calls: Vec<Call> = (1..=4).map(|id| call(id, Some(id as u8))).collect();
        let started = queue_all(&batcher, &recorder, &calls).await;
        open.send(()).unwrap();
        let answers = results(started).await;
        // Only the call that fails alone fails.
        assert_eq!(
            answers,
            [
                Ok(2),
                Ok(4),
                Err("stored data is corrupt: call 3".into()),
                Ok(8)
            ]
        );
        assert_eq!(*recorder.statements.lock().unwrap(), [[1], [2], [3], [4]]);
    }

    #[tokio::test]
    async fn a_statement_that_cannot_reach_the_database_fails_each_call_once() {
        let (recorder, open) = gated(Recorder {
            many_fails: Some(|| StoreError::Database(sqlx::Error::PoolTimedOut)),
            ..Recorder::default()
        });
        let batcher = Arc::new(Batcher::start(recorder.clone(), 1));
        let calls: Vec<Call> = (1..=4).map(|id| call(id, None)).collect();
        let started = queue_all(&batcher, &recorder, &calls).await;
        open.send(()).unwrap();
        let answers = results(started).await;
        let timed_out =
            Err("database error: pool timed out while waiting for an open connection".to_string());
        assert_eq!(answers[0], Ok(2));
        assert_eq!(
            answers[1..],
            [timed_out.clone(), timed_out.clone(), timed_out]
        );
        // None of the three ran again alone.
        assert_eq!(*recorder.statements.lock().unwrap(), [[1]]);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_stops_nothing() {
        let (recorder, open) = gated(Recorder::default());
        let batcher = Arc::new(Batcher::start(recorder.clone(), 1));
        let started = queue_all(&batcher, &recorder, &[call(1, None), call(2, None)]).await;
        for caller in &started {
            caller.abort();
        }
        open.send(()).unwrap();
        // A call after them is answered after both ran.
        assert_eq!(batcher.call(call(3, None)).await.unwrap(), 6);
        let ran: Vec<u32> = recorder.statements.lock().unwrap().concat();
        assert_eq!(ran, [1, 2, 3]);
    }

    #[tokio::test]
    async fn statements_run_at_once_up_to_the_limit() {
        let (recorder, open) = gated(Recorder::default());
        let batcher = Arc::new(Batcher::start(recorder.clone(), 2));
        // The first waits at the gate; with two slots the second runs
        // beside it, and the rest queue behind both.
        let started = queue_all(&batcher, &recorder, &[call(1, None), call(2, None)]).await;
        let second = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                if recorder.statements.lock().unwrap().concat().contains(&2) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(second.is_ok(), "the second call waited for the first");
        open.send(()).unwrap();
        assert_eq!(results(started).await, [Ok(2), Ok(4)]);
    }
}
