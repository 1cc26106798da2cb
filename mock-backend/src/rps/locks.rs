//! One lock per key (order id): work on one order is serialised, work on different orders runs
//! side by side. Entries are dropped once nobody holds or waits for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Locks by key.
#[derive(Debug, Default)]
pub struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl KeyedLocks {
    /// Runs `work` holding the lock of `key`. `work` must not await (it runs on the caller's
    /// thread, which blocks while another caller holds the same key).
    pub fn with<T>(&self, key: &str, work: impl FnOnce() -> T) -> T {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(key.to_owned()).or_default())
        };
        let result = {
            let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
            work()
        };
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        // Only the map and our clone left: nobody else holds or waits for this key.
        if Arc::strong_count(&lock) <= 2 {
            map.remove(key);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn one_key_is_serialised_and_forgotten_after() {
        let locks = Arc::new(KeyedLocks::default());
        let inside = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (locks, inside) = (Arc::clone(&locks), Arc::clone(&inside));
                std::thread::spawn(move || {
                    locks.with("order", || {
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().is_ok());
        }
        assert!(locks.map.lock().map(|m| m.is_empty()).unwrap_or(false));
    }
}
