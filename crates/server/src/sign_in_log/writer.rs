//! Off the request path: a bounded queue and one task that writes what it
//! holds as multi-row `INSERT`s (64 rows each), resting between batches
//! so that it never takes more than its share of the machine. A full queue
//! drops the record (counted), never slowing an answer; a batch the store
//! refuses is dropped too (counted, logged).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TrySendError};

use crate::store::{SignInRecord, Store};

/// The metrics the log keeps, described with the others (`telemetry`;
/// without a recorder installed they cost nothing).
use crate::telemetry::{
    SIGN_IN_LOG_DROPPED as RECORDS_DROPPED, SIGN_IN_LOG_WRITTEN as RECORDS_WRITTEN,
};

/// How the sign-in log is kept (`serve --sign-in-log-*`).
#[derive(Debug, Clone)]
pub struct SignInLogConfig {
    /// `false`: nothing is logged (`--no-sign-in-log`).
    pub enabled: bool,
    /// Records older than this are deleted (Azure AD keeps 30 days).
    pub retention: Duration,
    /// At most this many records are kept, the newest.
    pub max_rows: u64,
    /// Records waiting to be written; past it, new ones are dropped. A
    /// record takes about 0.7 KB with its strings, and under a flood the
    /// queue stays full: 1,024 hold under 1 MB (8,192 held 6 MB of the
    /// server's RSS), and the writer's duty, not the queue, sets how many
    /// a flood keeps.
    pub queue: usize,
    /// The most records the writer takes from the queue at once.
    pub batch: usize,
    /// The largest share of time the writer spends writing (0.06: it
    /// rests about sixteen times as long as a batch took); past it, records
    /// are dropped. On SQLite the WAL checkpoints its writes cause run on
    /// another thread (`store::sqlite_checkpoints`), off this clock: with
    /// them the log's share is about a tenth.
    pub writer_duty: f64,
}

impl Default for SignInLogConfig {
    fn default() -> SignInLogConfig {
        SignInLogConfig {
            enabled: true,
            retention: Duration::from_secs(30 * 24 * 3600),
            max_rows: 1_000_000,
            queue: 1024,
            batch: 512,
            writer_duty: 0.06,
        }
    }
}

/// The queue's sending end, shared by every view of the state.
pub struct SignInLog {
    sender: Option<mpsc::Sender<SignInRecord>>,
}

impl SignInLog {
    /// Starts the writer task (on the current Tokio runtime), unless the
    /// log is off. The task ends when the last `SignInLog` is dropped,
    /// after writing what was queued.
    pub fn start(store: Arc<dyn Store>, config: &SignInLogConfig) -> SignInLog {
        if !config.enabled {
            return SignInLog { sender: None };
        }
        let (sender, receiver) = mpsc::channel(config.queue.max(1));
        let duty = config.writer_duty.clamp(0.01, 1.0);
        tokio::spawn(write(store, receiver, config.batch.max(1), duty));
        SignInLog {
            sender: Some(sender),
        }
    }

    /// Whether a record would be queued: `false` (and the drop counted)
    /// when the log is off or its queue full, so that a flood's records
    /// cost nothing to make.
    pub fn has_room(&self) -> bool {
        match &self.sender {
            None => false,
            Some(sender) if sender.capacity() == 0 => {
                metrics::counter!(RECORDS_DROPPED).increment(1);
                false
            }
            Some(_) => true,
        }
    }

    /// Queues `record`, or drops it at once when the queue is full.
    pub fn submit(&self, record: SignInRecord) {
        let Some(sender) = &self.sender else {
            return;
        };
        match sender.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Closed(_)) => {
                metrics::counter!(RECORDS_DROPPED).increment(1);
            }
        }
    }
}

/// Records one statement writes: every full chunk has the same SQL, which
/// the driver prepares once.
const CHUNK: usize = 64;

/// Writes batches until every sender is gone: whatever arrived while the
/// last batch was written is the next one, so batches grow with the load.
/// The writer's share of time is bounded (`duty`): after a batch that took
/// `t` it rests `t × (1 − duty) / duty`, so under a flood the queue fills
/// and records are dropped rather than the answers slowed; at ordinary
/// rates a batch takes a fraction of a millisecond and the rest is short.
async fn write(
    store: Arc<dyn Store>,
    mut receiver: mpsc::Receiver<SignInRecord>,
    batch: usize,
    duty: f64,
) {
    let mut records = Vec::with_capacity(batch);
    while receiver.recv_many(&mut records, batch).await > 0 {
        let started = std::time::Instant::now();
        for chunk in records.chunks(CHUNK) {
            let count = chunk.len() as u64;
            match store.insert_sign_ins(chunk).await {
                Ok(()) => metrics::counter!(RECORDS_WRITTEN).increment(count),
                Err(err) => {
                    tracing::warn!(error = %err, records = count, "sign-in log records could not be written");
                    metrics::counter!(RECORDS_DROPPED).increment(count);
                }
            }
        }
        records.clear();
        let took = started.elapsed();
        tokio::time::sleep(took.mul_f64((1.0 - duty) / duty)).await;
    }
}
