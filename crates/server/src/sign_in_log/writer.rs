//! Off the request path: a bounded queue and one task that writes what it
//! holds as one multi-row `INSERT` per batch. A full queue drops the
//! record (counted), never slowing an answer; a batch the store refuses is
//! dropped too (counted, logged).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TrySendError};

use crate::store::{SignInRecord, Store};

/// The metrics the log keeps (through the `metrics` facade: without a
/// recorder installed they cost nothing).
pub const RECORDS_WRITTEN: &str = "latchkey_sign_in_log_records_written_total";
pub const RECORDS_DROPPED: &str = "latchkey_sign_in_log_records_dropped_total";

/// How the sign-in log is kept (`serve --sign-in-log-*`).
#[derive(Debug, Clone)]
pub struct SignInLogConfig {
    /// `false`: nothing is logged (`--no-sign-in-log`).
    pub enabled: bool,
    /// Records older than this are deleted (Azure AD keeps 30 days).
    pub retention: Duration,
    /// At most this many records are kept, the newest.
    pub max_rows: u64,
    /// Records waiting to be written; past it, new ones are dropped.
    pub queue: usize,
    /// The most records one `INSERT` writes.
    pub batch: usize,
}

impl Default for SignInLogConfig {
    fn default() -> SignInLogConfig {
        SignInLogConfig {
            enabled: true,
            retention: Duration::from_secs(30 * 24 * 3600),
            max_rows: 1_000_000,
            queue: 8192,
            batch: 512,
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
        metrics::describe_counter!(RECORDS_WRITTEN, "Sign-in log records written to the store.");
        metrics::describe_counter!(
            RECORDS_DROPPED,
            "Sign-in log records dropped: the queue was full or the store refused the batch."
        );
        if !config.enabled {
            return SignInLog { sender: None };
        }
        let (sender, receiver) = mpsc::channel(config.queue.max(1));
        tokio::spawn(write(store, receiver, config.batch.max(1)));
        SignInLog {
            sender: Some(sender),
        }
    }

    pub fn is_on(&self) -> bool {
        self.sender.is_some()
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

/// Writes batches until every sender is gone: whatever arrived while the
/// last batch was written is the next one, so batches grow with the load.
async fn write(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<SignInRecord>, batch: usize) {
    let mut records = Vec::with_capacity(batch);
    while receiver.recv_many(&mut records, batch).await > 0 {
        let count = records.len() as u64;
        match store.insert_sign_ins(&records).await {
            Ok(()) => metrics::counter!(RECORDS_WRITTEN).increment(count),
            Err(err) => {
                tracing::warn!(error = %err, records = count, "sign-in log records could not be written");
                metrics::counter!(RECORDS_DROPPED).increment(count);
            }
        }
        records.clear();
    }
}
