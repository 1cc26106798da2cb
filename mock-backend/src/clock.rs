//! The mock world's clock: system time plus a test offset that only moves forward.
//!
//! Tests (and client-side tests through `POST /test/clock/advance`) advance it to make one-time
//! codes expire or signed timestamps fall out of their window without waiting. With a persistent
//! data directory the offset is stored, so a restarted world keeps the same notion of "now".

use crate::persist::{Store, StoreError, Table};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest single advance accepted (ten years), so the clock cannot overflow.
pub const MAX_ADVANCE_SECS: u64 = 10 * 365 * 24 * 3600;

const OFFSET_KEY: &str = "clock.offset_secs";

/// Unix time in seconds, as the mock world sees it.
#[derive(Debug)]
pub struct Clock {
    offset_secs: AtomicU64,
    persisted: Option<Table<u64>>,
}

impl Clock {
    /// A clock that follows system time exactly and is not persisted.
    pub fn system() -> Self {
        Self {
            offset_secs: AtomicU64::new(0),
            persisted: None,
        }
    }

    /// A clock whose offset is loaded from and saved to `store`.
    pub fn persistent(store: &Store) -> Result<Self, StoreError> {
        let table: Table<u64> = store.table("meta")?;
        let offset = table.get(OFFSET_KEY)?.unwrap_or(0);
        Ok(Self {
            offset_secs: AtomicU64::new(offset),
            persisted: Some(table),
        })
    }

    /// Current Unix time in seconds (system time plus the offset).
    pub fn now(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        system.saturating_add(self.offset())
    }

    /// How far the clock has been advanced, in seconds.
    pub fn offset(&self) -> u64 {
        self.offset_secs.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `seconds` (capped at [`MAX_ADVANCE_SECS`] per call); returns the
    /// new offset.
    pub fn advance(&self, seconds: u64) -> Result<u64, StoreError> {
        let step = seconds.min(MAX_ADVANCE_SECS);
        let previous = self.offset_secs.fetch_add(step, Ordering::SeqCst);
        let offset = previous.saturating_add(step);
        if let Some(table) = &self.persisted {
            table.put(OFFSET_KEY, &offset)?;
        }
        Ok(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward() -> Result<(), StoreError> {
        let clock = Clock::system();
        let before = clock.now();
        assert_eq!(clock.advance(301)?, 301);
        let after = clock.now();
        // At most a second or two of real time passes during the test.
        assert!(
            after >= before + 301 && after <= before + 303,
            "{before} -> {after}"
        );
        Ok(())
    }

    #[test]
    fn offset_is_persisted() -> Result<(), StoreError> {
        let store = Store::open(None)?;
        Clock::persistent(&store)?.advance(42)?;
        assert_eq!(Clock::persistent(&store)?.offset(), 42);
        Ok(())
    }
}
