//! SQLite reads on the grants' hot path, in place: a few connections of
//! their own (rusqlite, statements prepared once), each read run on the
//! calling thread under a lock, as short as an index lookup in pages
//! already cached, instead of a round trip to a connection's worker
//! thread. WAL lets them read while the writers write.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::Connection;

use super::StoreError;
use super::sqlite_busy;

#[derive(Debug)]
pub struct SqliteReaders {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl SqliteReaders {
    /// `count` read connections to the (already migrated) database at `path`.
    pub fn open(path: &Path, count: usize) -> Result<SqliteReaders, StoreError> {
        let conns = (0..count.max(1))
            .map(|_| {
                let conn = Connection::open(path)?;
                sqlite_busy::wait_in_steps(&conn)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(SqliteReaders {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free connection (or waits for one).
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let count = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        for i in 0..count {
            if let Ok(conn) = self.conns[(start + i) % count].try_lock() {
                return read(&conn);
            }
        }
        let conn = match self.conns[start].lock() {
            Ok(conn) => conn,
            Err(poisoned) => poisoned.into_inner(),
        };
        read(&conn)
    }
}
