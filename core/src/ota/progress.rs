//! Progress of a SERAM session for the UI, and notifications for the device application.
//!
//! SERAM never announces how many commands a session will carry, so the percentage is stage
//! based, refined inside each order by the C-APDUs executed out of those it announced: handshake
//! 0 → 10, Start 20, each order moves the bar towards 90 in proportion to its C-APDUs, Stop 100.
//! The percentage never goes back.

use std::sync::Arc;

/// Stage of a SERAM session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtaStage {
    /// Negotiating with the remote agent.
    Handshake,
    /// Handshake done; polling until the remote agent sends Start.
    AwaitingStart,
    /// Executing the remote agent's commands.
    Executing,
    /// Stop received: the session is over.
    Completed,
}

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtaProgress {
    /// Current stage.
    pub stage: OtaStage,
    /// Estimated completion, 0..=100, never decreasing.
    pub percent: u8,
    /// C-APDUs exchanged with the SE so far.
    pub apdus_exchanged: u32,
}

/// Receives progress and the remote agent's notifications. Called from the session's worker
/// threads: implementations must be quick and thread-safe.
pub trait OtaListener: Send + Sync {
    /// The session progressed.
    fn on_progress(&self, progress: OtaProgress);
    /// The remote agent sent a notification for the device application (`notificationCommand`;
    /// its meaning is implementation dependent, e.g. `step1/action2/OK`).
    fn on_notification(&self, message: String);
}

/// A listener that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoListener;

impl OtaListener for NoListener {
    fn on_progress(&self, _: OtaProgress) {}
    fn on_notification(&self, _: String) {}
}

const AFTER_HANDSHAKE: u8 = 10;
const AFTER_START: u8 = 20;
const EXECUTING_CEILING: u8 = 90;

/// Computes and publishes progress.
pub(crate) struct Progress {
    listener: Arc<dyn OtaListener>,
    stage: OtaStage,
    percent: u8,
    apdus: u32,
    order_base: u8,
    order_total: usize,
    order_done: usize,
}

impl Progress {
    pub(crate) fn new(listener: Arc<dyn OtaListener>) -> Progress {
        Progress {
            listener,
            stage: OtaStage::Handshake,
            percent: 0,
            apdus: 0,
            order_base: 0,
            order_total: 0,
            order_done: 0,
        }
    }

    pub(crate) fn listener(&self) -> &Arc<dyn OtaListener> {
        &self.listener
    }

    pub(crate) fn apdus_exchanged(&self) -> u32 {
        self.apdus
    }

    fn publish(&mut self, stage: OtaStage, percent: u8) {
        self.stage = stage;
        self.percent = self.percent.max(percent.min(100));
        self.listener.on_progress(OtaProgress {
            stage: self.stage,
            percent: self.percent,
            apdus_exchanged: self.apdus,
        });
    }

    pub(crate) fn handshake_started(&mut self) {
        self.publish(OtaStage::Handshake, 0);
    }

    pub(crate) fn handshake_done(&mut self) {
        self.publish(OtaStage::AwaitingStart, AFTER_HANDSHAKE);
    }

    pub(crate) fn started(&mut self) {
        self.publish(OtaStage::Executing, AFTER_START);
    }

    /// A new order announces `apdus` C-APDUs.
    pub(crate) fn order(&mut self, apdus: usize) {
        self.order_base = self.percent;
        self.order_total = apdus;
        self.order_done = 0;
    }

    /// One C-APDU of the current order was exchanged.
    pub(crate) fn apdu_done(&mut self) {
        self.apdus = self.apdus.saturating_add(1);
        self.order_done += 1;
        let span = usize::from(EXECUTING_CEILING.saturating_sub(self.order_base));
        let gained = span * self.order_done / self.order_total.max(self.order_done);
        let percent = self
            .order_base
            .saturating_add(u8::try_from(gained).unwrap_or(u8::MAX));
        self.publish(OtaStage::Executing, percent.min(EXECUTING_CEILING));
    }

    pub(crate) fn completed(&mut self) {
        self.publish(OtaStage::Completed, 100);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(OtaStage, u8)>>);

    impl OtaListener for Recorder {
        fn on_progress(&self, p: OtaProgress) {
            self.0.lock().unwrap().push((p.stage, p.percent));
        }
        fn on_notification(&self, _: String) {}
    }

    #[test]
    fn percent_follows_stages_and_apdus_and_never_decreases() {
        let recorder = Arc::new(Recorder::default());
        let mut p = Progress::new(recorder.clone());
        p.handshake_started();
        p.handshake_done();
        p.started();
        p.order(2); // 20 → 90 in two steps of 35
        p.apdu_done();
        p.apdu_done();
        p.order(0);
        p.completed();
        use OtaStage::*;
        assert_eq!(
            *recorder.0.lock().unwrap(),
            [
                (Handshake, 0),
                (AwaitingStart, 10),
                (Executing, 20),
                (Executing, 55),
                (Executing, 90),
                (Completed, 100)
            ]
        );
        assert_eq!(p.apdus_exchanged(), 2);
    }
}
