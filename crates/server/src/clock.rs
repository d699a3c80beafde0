//! The server's clock. A request reads it once (`RequestContext`), and
//! everything that request decides, signs or stores uses that one time.
//! Tests move it forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

/// The system clock, optionally shifted forward by [`Clock::advance`].
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` for the plain clock.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The system clock, shifted by every `advance` on it or its clones:
    /// for tests that let time pass without waiting.
    pub fn adjustable() -> Clock {
        Clock {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Moves an adjustable clock forward; a no-op on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.offset_ms {
            let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            offset.fetch_add(ms, Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        match &self.offset_ms {
            None => now,
            Some(offset) => now + time::Duration::milliseconds(offset.load(Ordering::SeqCst)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_and_its_clones_move_together() {
        let clock = Clock::adjustable();
        let other = clock.clone();
        let before = clock.now();
        other.advance(Duration::from_secs(3600));
        assert!(clock.now() - before >= time::Duration::seconds(3600));
        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!(system.now() - OffsetDateTime::now_utc() < time::Duration::seconds(60));
    }
}
