//! The trace of a tap: every command and response APDU in hex, cardholder data masked.
//!
//! With [`Redaction::MaskCardholderData`] (the default) the trace never shows a whole PAN or
//! track: in responses the values of `5A` (PAN: first 6 and last 4 digits kept), `57` and `9F6B`
//! (track 2: first 6 digits kept), `56` and `9F1F` (track 1 data) and `5F20` (cardholder name)
//! are replaced by `*` nibble for nibble; once the PAN is known, every other occurrence of its
//! digits (e.g. in the ICC certificate) is masked the same way. No key ever crosses the reader
//! interface, so there is none to hide. [`Redaction::None`] keeps everything, for debugging a
//! card on a bench.

use wallet_core::apdu::{tlv, Tag};

/// How much of the card data the trace keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redaction {
    /// Mask PAN, tracks and cardholder name (default).
    #[default]
    MaskCardholderData,
    /// Keep every byte (never in logs or reports).
    None,
}

/// One exchange with the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// What the terminal was doing (`SELECT PPSE`, `GET PROCESSING OPTIONS`…).
    pub step: &'static str,
    /// The command APDU, uppercase hex.
    pub command: String,
    /// The response APDU, uppercase hex (masked), or `None` if the card did not answer.
    pub response: Option<String>,
}

/// Every exchange of one tap, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    redaction: Redaction,
    entries: Vec<TraceEntry>,
}

/// Tags whose values are cardholder data, and how much of each stays visible.
#[derive(Clone, Copy)]
enum Keep {
    /// PAN: first 6 and last 4 digits.
    Pan,
    /// Track data: the first 6 digits.
    First6,
    /// Nothing.
    Nothing,
}

fn sensitivity(tag: Tag) -> Option<Keep> {
    match tag.value() {
        0x5A => Some(Keep::Pan),
        0x57 | 0x9F6B => Some(Keep::First6),
        0x56 | 0x9F1F | 0x5F20 => Some(Keep::Nothing),
        _ => None,
    }
}

/// `digits` with all but the kept nibbles replaced by `*`.
fn mask_nibbles(digits: &str, keep: Keep) -> String {
    let significant = digits.trim_end_matches(['F', 'f']).len();
    digits
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let visible = match keep {
                Keep::Pan => i < 6 || (i + 4 >= significant && i < significant),
                Keep::First6 => i < 6,
                Keep::Nothing => false,
            };
            if visible {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// The hex of a response APDU with the cardholder data of its TLV structure masked.
fn masked_response(response: &[u8]) -> String {
    let mut hex = hex::encode_upper(response);
    let data = response
        .get(..response.len().saturating_sub(2))
        .unwrap_or_default();
    let base = data.as_ptr() as usize;
    // Whatever parses before an error is masked; the rest is covered by the PAN pass.
    let _ = tlv::walk(data, |object, _| {
        let Some(keep) = sensitivity(object.tag()) else {
            return;
        };
        let value = object.value();
        let start = 2 * (value.as_ptr() as usize).saturating_sub(base);
        let end = start + 2 * value.len();
        if let Some(digits) = hex.get(start..end).map(str::to_owned) {
            let masked = mask_nibbles(&digits, keep);
            hex.replace_range(start..end, &masked);
        }
    });
    hex
}

impl Trace {
    /// An empty trace with `redaction`.
    pub fn new(redaction: Redaction) -> Trace {
        Trace {
            redaction,
            entries: Vec::new(),
        }
    }

    /// The exchanges, in order.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// Records one exchange.
    pub(crate) fn record(&mut self, step: &'static str, command: &[u8], response: Option<&[u8]>) {
        let response = response.map(|r| match self.redaction {
            Redaction::MaskCardholderData => masked_response(r),
            Redaction::None => hex::encode_upper(r),
        });
        self.entries.push(TraceEntry {
            step,
            command: hex::encode_upper(command),
            response,
        });
    }

    /// Masks every remaining occurrence of `pan` (digits) once the PAN is known.
    pub(crate) fn mask_pan(&mut self, pan: &str) {
        if self.redaction == Redaction::None || pan.len() < 12 {
            return;
        }
        let masked = mask_nibbles(pan, Keep::Pan);
        for entry in &mut self.entries {
            if let Some(response) = &mut entry.response {
                *response = response.replace(pan, &masked);
            }
        }
    }

    /// The trace as text, one `>> command` / `<< response` pair per exchange.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&format!("# {}\n>> {}\n", e.step, e.command));
            match &e.response {
                Some(r) => out.push_str(&format!("<< {r}\n")),
                None => out.push_str("<< (no answer)\n"),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_pan_track_and_name_in_responses() {
        // 70 { 5A 6222021234567894, 57 6222021234567894D3012201, 5F20 "ZHANG", 5F34 01 } 9000
        let response = hex::decode(
            "70245A0862220212345678945F2005\
             5A48414E47570C6222021234567894D30122015F3401019000",
        )
        .unwrap();
        let mut trace = Trace::new(Redaction::MaskCardholderData);
        trace.record(
            "READ RECORD",
            &[0x00, 0xB2, 0x01, 0x0C, 0x00],
            Some(&response),
        );
        let text = &trace.entries()[0].response.clone().unwrap();
        assert_eq!(
            text,
            "70245A08622202******78945F2005**********570C622202******************5F3401019000"
        );
        assert!(!text.contains("1234567"));
        // Odd-length PAN padded with F: the padding is not a digit to keep.
        assert_eq!(
            mask_nibbles("6222601234567890126F", Keep::Pan),
            "622260*********0126*"
        );
    }

    #[test]
    fn pan_elsewhere_is_masked_once_known_and_none_keeps_everything() {
        let cert = hex::decode("9F460B146222021234567894FFFF9000").unwrap();
        let mut trace = Trace::new(Redaction::MaskCardholderData);
        trace.record("READ RECORD", &[0x00], Some(&cert));
        trace.record("GPO", &[0x80], None);
        trace.mask_pan("6222021234567894");
        assert_eq!(
            trace.entries()[0].response.as_deref(),
            Some("9F460B14622202******7894FFFF9000")
        );
        assert!(trace.to_text().contains("<< (no answer)"));
        let mut raw = Trace::new(Redaction::None);
        raw.record("READ RECORD", &[0x00], Some(&cert));
        raw.mask_pan("6222021234567894");
        assert_eq!(
            raw.entries()[0].response.as_deref(),
            Some("9F460B146222021234567894FFFF9000")
        );
    }

    #[test]
    fn garbage_is_kept_as_hex_without_panicking() {
        let mut trace = Trace::new(Redaction::MaskCardholderData);
        trace.record("X", &[], Some(&[0x5A, 0xFF, 0x01]));
        trace.record("Y", &[], Some(&[]));
        assert_eq!(trace.entries()[0].response.as_deref(), Some("5AFF01"));
        assert_eq!(trace.entries()[1].response.as_deref(), Some(""));
    }
}
