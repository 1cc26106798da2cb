//! The card's durable counters (ATC, last online ATC, e-cash balance) and the seam through which
//! the card application makes them durable before any cryptogram leaves the card.
//!
//! HCE implements [`CardCounterStore`] with the store's durable update, the SE simulator with its
//! own save. The application hands over the *next* counters and computes nothing until the store
//! answers `Ok`; on `Err` it answers `6581` (memory failure) and keeps the previous counters.
//!
//! The PIN try counter of the remote-payment PIN (see [`super::signing`]) goes through the same
//! store ([`CardCounterStore::persist_pin_tries`]): a wrong PIN is counted durably before the
//! card answers. It is a separate value rather than a field of [`CardCounters`] so that hosts
//! without a PIN (HCE) keep their counters unchanged; a host with a PIN saves it beside them
//! (the SE simulator: `pin_tries_left` in the applet's state, absent in older state files).

use super::perso::CardPersonalization;

/// What the card must never forget: a replayed or decreasing ATC would reuse a session key, a
/// forgotten debit would spend e-cash twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CardCounters {
    /// Application transaction counter (`9F36`) of the last transaction; 0 before the first.
    pub atc: u16,
    /// ATC of the last transaction that asked for online authorisation (`9F13`).
    pub last_online_atc: u16,
    /// Electronic cash balance (`9F79`, minor units), when the card has e-cash.
    pub ecash_balance: Option<u64>,
}

impl CardCounters {
    /// The counters of a freshly personalised card: no transaction yet, the personalised
    /// e-cash balance.
    pub fn initial(perso: &CardPersonalization) -> CardCounters {
        CardCounters {
            atc: 0,
            last_online_atc: 0,
            ecash_balance: perso.ecash.map(|e| e.balance),
        }
    }
}

/// The counter store could not make the counters durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("card counters not persisted: {0}")]
pub struct CounterStoreError(pub String);

/// Durable storage of [`CardCounters`].
pub trait CardCounterStore {
    /// Makes `counters` durable (all fields at once) and returns only when they would survive a
    /// crash or power loss. An `Err` means nothing was written.
    fn persist(&mut self, counters: &CardCounters) -> Result<(), CounterStoreError>;

    /// Makes the PIN try counter (tries left) durable, with the same guarantee as
    /// [`persist`](Self::persist). The default refuses: a host that personalises no PIN never
    /// has to keep one.
    fn persist_pin_tries(&mut self, tries_left: u8) -> Result<(), CounterStoreError> {
        let _ = tries_left;
        Err(CounterStoreError(
            "this card keeps no PIN try counter".into(),
        ))
    }
}

/// Any `FnMut(&CardCounters) -> Result<(), CounterStoreError>` is a store (a callback).
impl<F> CardCounterStore for F
where
    F: FnMut(&CardCounters) -> Result<(), CounterStoreError>,
{
    fn persist(&mut self, counters: &CardCounters) -> Result<(), CounterStoreError> {
        self(counters)
    }
}

/// A store in memory, for tests and benchmarks: not durable.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryCounterStore {
    /// The counters last persisted.
    pub last: Option<CardCounters>,
    /// Number of successful writes.
    pub writes: usize,
    /// When set, every write fails (and changes nothing).
    pub fail: bool,
    /// The PIN try counter last persisted.
    pub pin_tries_left: Option<u8>,
}

impl CardCounterStore for MemoryCounterStore {
    fn persist(&mut self, counters: &CardCounters) -> Result<(), CounterStoreError> {
        if self.fail {
            return Err(CounterStoreError("simulated failure".into()));
        }
        self.last = Some(*counters);
        self.writes += 1;
        Ok(())
    }

    fn persist_pin_tries(&mut self, tries_left: u8) -> Result<(), CounterStoreError> {
        if self.fail {
            return Err(CounterStoreError("simulated failure".into()));
        }
        self.pin_tries_left = Some(tries_left);
        self.writes += 1;
        Ok(())
    }
}

/// What the card application gets from its host for one command besides the APDU.
pub struct CardContext<'a> {
    /// Where the counters go before a cryptogram is computed.
    pub counters: &'a mut dyn CardCounterStore,
    /// The wallet verified the cardholder on the device (consumer device CVM) for this tap.
    pub consumer_device_cvm: bool,
}

impl<'a> CardContext<'a> {
    /// A context writing to `counters`, without consumer device CVM.
    pub fn new(counters: &'a mut dyn CardCounterStore) -> CardContext<'a> {
        CardContext {
            counters,
            consumer_device_cvm: false,
        }
    }

    /// The same context, saying whether the cardholder was verified on the device.
    pub fn with_consumer_device_cvm(mut self, performed: bool) -> CardContext<'a> {
        self.consumer_device_cvm = performed;
        self
    }
}

impl std::fmt::Debug for CardContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardContext")
            .field("consumer_device_cvm", &self.consumer_device_cvm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_and_closures_are_stores() {
        let mut store = MemoryCounterStore::default();
        let c = CardCounters {
            atc: 3,
            last_online_atc: 2,
            ecash_balance: Some(10),
        };
        store.persist(&c).unwrap();
        assert_eq!((store.last, store.writes), (Some(c), 1));
        store.fail = true;
        assert!(store.persist(&CardCounters { atc: 4, ..c }).is_err());
        assert_eq!((store.last, store.writes), (Some(c), 1));
        assert!(store.persist_pin_tries(2).is_err());
        store.fail = false;
        store.persist_pin_tries(2).unwrap();
        assert_eq!((store.pin_tries_left, store.writes), (Some(2), 2));

        let mut seen = Vec::new();
        let mut closure = |c: &CardCounters| {
            seen.push(c.atc);
            Ok::<(), CounterStoreError>(())
        };
        let ctx = CardContext::new(&mut closure).with_consumer_device_cvm(true);
        ctx.counters.persist(&c).unwrap();
        assert!(format!("{ctx:?}").contains("consumer_device_cvm: true"));
        // A closure store keeps no PIN try counter.
        assert!(ctx.counters.persist_pin_tries(3).is_err());
        assert_eq!(seen, vec![3]);
    }
}
