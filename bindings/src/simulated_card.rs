//! Test-only (feature `test-hooks`): raw access to the simulated cards behind
//! [`SimulatedSecureElements`], below the OMAPI-shaped transport.
//!
//! A platform SE service (Android's `SecureElementService`) talks to the card itself: it opens
//! logical channels with MANAGE CHANNEL, selects applets by name and puts the channel number in
//! the class byte of every APDU. A test standing in for that service (e.g. Robolectric's
//! secure-element shadow with mock applets that forward to the simulator) needs the same raw
//! access, which [`SimulatedSecureElements::card_transmit`] gives.

use wallet_core::apdu::{Class, LogicalChannel};

use crate::se::{SeFfiError, SeReaderKind};
use crate::simulated::SimulatedSecureElements;

#[uniffi::export]
impl SimulatedSecureElements {
    /// Sends `apdu` to the card of `kind` on logical channel `channel` (0 basic, 1..=19), as the
    /// platform SE service does: the channel number is written into the class byte, and
    /// MANAGE CHANNEL and SELECT by name are allowed. Returns the response APDU (data and
    /// SW1 SW2). Fails with `Io` when the SE is absent and `Platform` for an APDU shorter than
    /// 4 bytes or a channel number out of range.
    pub fn card_transmit(
        &self,
        kind: SeReaderKind,
        channel: u8,
        apdu: Vec<u8>,
    ) -> Result<Vec<u8>, SeFfiError> {
        if !self.is_present(kind) {
            return Err(SeFfiError::Io {
                error_message: format!("no secure element in the {kind:?} reader"),
            });
        }
        if apdu.len() < 4 {
            return Err(SeFfiError::Platform {
                error_message: "APDU shorter than 4 bytes".into(),
            });
        }
        let number = LogicalChannel::new(channel).map_err(|e| SeFfiError::Platform {
            error_message: format!("logical channel {channel}: {e}"),
        })?;
        let mut apdu = apdu;
        if let Some(first) = apdu.first_mut() {
            if let Ok(class) = Class::new(*first).with_channel(number) {
                *first = class.value();
            }
        }
        let se = self.shared_se(kind);
        let mut card = se.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(card.transmit(&apdu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MANAGE CHANNEL open, then GET DATA on the new channel; SW `9000` on both.
    #[test]
    fn the_card_opens_a_logical_channel_and_answers_on_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let se = SimulatedSecureElements::open(dir.path().display().to_string()).expect("open");
        let opened = se
            .card_transmit(SeReaderKind::Ese, 0, vec![0x00, 0x70, 0x00, 0x00, 0x01])
            .expect("manage channel");
        assert_eq!(opened.len(), 3, "{opened:02X?}");
        assert_eq!(&opened[1..], &[0x90, 0x00]);
        let channel = opened[0];
        assert!((1..=19).contains(&channel));
        // SELECT the ISD by name on that channel.
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x08];
        select.extend_from_slice(&[0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00]);
        select.push(0x00);
        let answer = se
            .card_transmit(SeReaderKind::Ese, channel, select)
            .expect("select");
        assert_eq!(&answer[answer.len() - 2..], &[0x90, 0x00], "{answer:02X?}");
    }

    #[test]
    fn an_absent_se_and_a_short_apdu_are_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let se = SimulatedSecureElements::open(dir.path().display().to_string()).expect("open");
        assert!(matches!(
            se.card_transmit(SeReaderKind::Sim, 0, vec![0x00, 0xA4]),
            Err(SeFfiError::Platform { .. })
        ));
        assert!(matches!(
            se.card_transmit(SeReaderKind::Sim, 20, vec![0x00, 0xCA, 0x00, 0xCF]),
            Err(SeFfiError::Platform { .. })
        ));
        se.set_present(SeReaderKind::Sim, false);
        assert!(matches!(
            se.card_transmit(SeReaderKind::Sim, 0, vec![0x00, 0xCA, 0x00, 0xCF, 0x00]),
            Err(SeFfiError::Io { .. })
        ));
    }
}
