//! Log events of the library, forwarded to a platform [`LogSink`] (Logcat, `os_log`, …).
//!
//! The first [`set_log_sink`] installs a global `tracing` subscriber whose layer hands every event
//! at or above the chosen level to the sink. The core logs no secrets, so records can be written to
//! platform logs as they are.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Once, PoisonError, RwLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// Severity of a [`LogRecord`], most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected that the library recovered from.
    Warn,
    /// A milestone of a flow (bound, paid, …).
    Info,
    /// Detail for developers.
    Debug,
    /// Very verbose detail.
    Trace,
}

impl LogLevel {
    /// The [`LogLevel`] of a `tracing` level.
    fn from_tracing(level: tracing::Level) -> Self {
        match level {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warn,
            tracing::Level::INFO => Self::Info,
            tracing::Level::DEBUG => Self::Debug,
            _ => Self::Trace,
        }
    }

    /// Encoding in [`MIN_LEVEL`]: 0 means no sink, then Error = 1 … Trace = 5.
    fn as_u8(self) -> u8 {
        match self {
            Self::Error => 1,
            Self::Warn => 2,
            Self::Info => 3,
            Self::Debug => 4,
            Self::Trace => 5,
        }
    }
}

/// One log event of the library.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// The Rust module that logged (e.g. `wallet_core::binding`).
    pub target: String,
    /// The message followed by the event's fields as ` key=value`.
    pub message: String,
}

/// A [`LogSink`] failed; the library drops the record and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum LogSinkError {
    /// The sink could not write the record.
    #[error("log sink failed ({code}): {error_message}")]
    Failed {
        /// Stable machine-readable code; `foreign_exception` for an undeclared platform exception.
        code: String,
        /// What went wrong.
        error_message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for LogSinkError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            code: "foreign_exception".to_owned(),
            error_message: err.reason,
        }
    }
}

/// Receives the library's log records; implemented by the platform. Called from any thread.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// Writes one record. An error (or exception) drops the record; the library carries on.
    fn log(&self, record: LogRecord) -> Result<(), LogSinkError>;
}

/// The installed sink.
static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
/// Most verbose level forwarded ([`LogLevel::as_u8`]); 0 while no sink is installed.
static MIN_LEVEL: AtomicU8 = AtomicU8::new(0);
/// Installs the global subscriber once.
static INSTALL: Once = Once::new();

/// Serialises the unit tests that install a global sink (tests run in parallel threads).
#[cfg(test)]
pub(crate) static TEST_SINK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    /// Set while this thread is inside a sink call: events the sink itself causes are dropped.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Installs `sink` (or removes the current one with `None`); events at `min_level` or more severe
/// are forwarded to it.
///
/// The first call installs the library's global `tracing` subscriber; if the host process already
/// installed one (a Rust app), that one keeps receiving the events and the sink does not.
#[uniffi::export]
pub fn set_log_sink(sink: Option<Arc<dyn LogSink>>, min_level: LogLevel) {
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(SinkLayer);
        // Err means another global subscriber exists; the documented behaviour above applies.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    let level = if sink.is_some() { min_level.as_u8() } else { 0 };
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
    MIN_LEVEL.store(level, Ordering::Release);
}

/// The `tracing` layer that forwards events to [`SINK`].
struct SinkLayer;

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // The level can change at run time: ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        LogLevel::from_tracing(*metadata.level()).as_u8() <= MIN_LEVEL.load(Ordering::Acquire)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if IN_SINK.with(Cell::get) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(sink) = sink else { return };
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let metadata = event.metadata();
        let record = LogRecord {
            level: LogLevel::from_tracing(*metadata.level()),
            target: metadata.target().to_owned(),
            message: visitor.finish(),
        };
        let _guard = InSinkGuard::enter();
        // A failing sink loses this record only; there is nowhere else to report it.
        let _ = sink.log(record);
    }
}

/// Marks this thread as inside a sink call until dropped (also on unwind).
struct InSinkGuard;

impl InSinkGuard {
    fn enter() -> Self {
        IN_SINK.with(|flag| flag.set(true));
        Self
    }
}

impl Drop for InSinkGuard {
    fn drop(&mut self) {
        IN_SINK.with(|flag| flag.set(false));
    }
}

/// Renders an event as `message key=value key=value`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn finish(self) -> String {
        let mut out = self.message;
        if out.is_empty() {
            out = self.fields.trim_start().to_owned();
        } else {
            out.push_str(&self.fields);
        }
        out
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<LogRecord>>);

    impl LogSink for Collect {
        fn log(&self, record: LogRecord) -> Result<(), LogSinkError> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record);
            Ok(())
        }
    }

    struct Failing;

    impl LogSink for Failing {
        fn log(&self, _record: LogRecord) -> Result<(), LogSinkError> {
            Err(uniffi::UnexpectedUniFFICallbackError::new("sink is closed").into())
        }
    }

    #[test]
    fn levels_order_from_most_severe() {
        assert!(LogLevel::Error < LogLevel::Warn && LogLevel::Debug < LogLevel::Trace);
        assert_eq!(LogLevel::from_tracing(tracing::Level::WARN), LogLevel::Warn);
    }

    #[test]
    fn callback_error_becomes_a_typed_sink_error() {
        let err = Failing.log(LogRecord {
            level: LogLevel::Info,
            target: "t".into(),
            message: "m".into(),
        });
        assert_eq!(
            err,
            Err(LogSinkError::Failed {
                code: "foreign_exception".into(),
                error_message: "sink is closed".into()
            })
        );
    }

    #[test]
    fn events_reach_the_sink_filtered_by_level() {
        let _global = TEST_SINK_LOCK
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let sink = Arc::new(Collect::default());
        set_log_sink(Some(sink.clone()), LogLevel::Info);
        tracing::info!(target: "wallet_ffi::test", amount = 42, "paid");
        tracing::debug!(target: "wallet_ffi::test", "too verbose");
        set_log_sink(Some(Arc::new(Failing)), LogLevel::Trace);
        tracing::error!(target: "wallet_ffi::test", "dropped by the failing sink");
        set_log_sink(None, LogLevel::Trace);
        tracing::error!(target: "wallet_ffi::test", "no sink");

        let records = sink
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mine: Vec<_> = records
            .into_iter()
            .filter(|r| r.target == "wallet_ffi::test")
            .collect();
        assert_eq!(
            mine,
            vec![LogRecord {
                level: LogLevel::Info,
                target: "wallet_ffi::test".into(),
                message: "paid amount=42".into(),
            }]
        );
    }
}
