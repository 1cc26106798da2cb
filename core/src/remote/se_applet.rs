//! The SE mode signer: the payment application in the secure element verifies the user's PIN
//! and signs the payment message with the key it generated at card opening
//! ([`crate::card::signing`]).
//!
//! One call, [`sign_with_applet`], is one OMAPI conversation: a session on the reader, a
//! logical channel selecting the payment instance, then
//!
//! 1. `VERIFY 00 20 00 80 08 <PIN block>` (ISO 9564 format 2 built here from the PIN);
//! 2. `PSO / COMPUTE DIGITAL SIGNATURE 00 2A 9E 9A Lc <message> Le` (extended length when the
//!    message is longer than 255 bytes; at most [`MAX_MESSAGE_LEN`]).
//!
//! Channel and session are closed when the call returns, whatever happens (they close on
//! drop). Status words map to [`SeSignError`]: `63Cx` → [`SeSignError::PinWrong`], `6983` →
//! [`SeSignError::PinBlocked`], `6A88` → [`SeSignError::NoSigningKey`], anything else
//! unexpected → [`SeSignError::Card`]. The PIN is never logged; the PIN block lives in zeroized
//! memory on this side, the encoded VERIFY command included. (The SE transport is handed its
//! own copy of the command bytes, which this module cannot clear.)
//!
//! The call blocks on the SE: run it off the async runtime (`spawn_blocking`).

use zeroize::Zeroizing;

use crate::apdu::CommandApdu;
use crate::card::app::MAX_MESSAGE_LEN;
use crate::card::signing::PinBlock;
use crate::se::{SeError, SeService};

/// `9000`.
const SW_OK: u16 = 0x9000;
/// `6983`: the PIN is blocked.
const SW_PIN_BLOCKED: u16 = 0x6983;
/// `6A88`: the card has no PIN or no signing key.
const SW_NO_SIGNING_KEY: u16 = 0x6A88;
/// `6700`: the message cannot be signed (empty or too long).
const SW_WRONG_LENGTH: u16 = 0x6700;

/// Why the SE applet did not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeSignError {
    /// The PIN is not 4 to 12 decimal digits (nothing was sent to the card).
    #[error("the PIN must be 4 to 12 digits")]
    InvalidPin,
    /// The card refused the PIN; `attempts_left` more wrong PINs are allowed before it blocks.
    #[error("wrong PIN ({attempts_left} attempts left)")]
    PinWrong {
        /// Tries the card still allows.
        attempts_left: u8,
    },
    /// The card's PIN is blocked: it signs nothing any more.
    #[error("the card's PIN is blocked")]
    PinBlocked,
    /// The payment application holds no PIN or signing key (a card opened without one).
    #[error("the payment application has no signing key")]
    NoSigningKey,
    /// The SE could not be reached, or the payment application could not be selected.
    #[error(transparent)]
    Se(#[from] SeError),
    /// The card answered an unexpected status word (`6700` also for a message that is empty
    /// or longer than [`MAX_MESSAGE_LEN`], refused before it is sent).
    #[error("the card answered {0:04X}")]
    Card(u16),
}

/// Verifies `pin` with the payment application `instance_aid` of the SE in reader
/// `reader_name` and has it sign `message` (as is: the card hashes). Returns the signature:
/// ECDSA P-256 DER for a 3DES card, SM2 `r ‖ s` (64 bytes) for an SM4 card.
pub fn sign_with_applet(
    se: &SeService,
    reader_name: &str,
    instance_aid: &[u8],
    pin: &str,
    message: &[u8],
) -> Result<Vec<u8>, SeSignError> {
    let block = PinBlock::new(pin).ok_or(SeSignError::InvalidPin)?;
    if message.is_empty() || message.len() > MAX_MESSAGE_LEN {
        return Err(SeSignError::Card(SW_WRONG_LENGTH));
    }
    let verify = verify_command(&block)?;
    let sign = CommandApdu::new(0x00, 0x2A, 0x9E, 0x9A)
        .with_data(message.to_vec())
        .and_then(|c| c.with_le(256))
        .map_err(|_| SeSignError::Card(SW_WRONG_LENGTH))?;

    let reader = se.reader(reader_name)?;
    let session = reader.open_session()?;
    let channel = session.open_logical_channel(Some(instance_aid), 0x00)?;

    let verified = channel.transmit_raw(&verify)?;
    match verified.sw.0 {
        SW_OK => {}
        sw @ 0x63C0..=0x63CF => {
            return Err(SeSignError::PinWrong {
                attempts_left: (sw & 0x0F) as u8,
            })
        }
        other => return Err(status_error(other)),
    }
    let signed = channel.transmit(&sign)?;
    match signed.sw.0 {
        SW_OK if !signed.data.is_empty() => Ok(signed.data),
        other => Err(status_error(other)),
    }
    // `channel` then `session` close on drop.
}

/// `VERIFY 00 20 00 80 08 <PIN block>`, encoded into zeroizing memory allocated once at its
/// final length. The command's own copy of the block is zeroized when it drops, so no plain
/// copy of the PIN block is left behind on this side.
fn verify_command(block: &PinBlock) -> Result<Zeroizing<Vec<u8>>, SeSignError> {
    let command = Zeroizing::new(
        CommandApdu::new(0x00, 0x20, 0x00, 0x80)
            .with_data(block.as_bytes().to_vec())
            .map_err(|_| SeSignError::InvalidPin)?,
    );
    let mut bytes = Zeroizing::new(Vec::with_capacity(command.encoded_len()));
    command.write_to(&mut bytes);
    Ok(bytes)
}

/// The error of a status word other than `9000` / `63Cx`.
fn status_error(sw: u16) -> SeSignError {
    match sw {
        SW_PIN_BLOCKED => SeSignError::PinBlocked,
        SW_NO_SIGNING_KEY => SeSignError::NoSigningKey,
        other => SeSignError::Card(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::AccountKind;
    use crate::card::perso::{CardCrypto, CardKeys, CardPersonalization};
    use crate::card::signing::{CardSigning, CardSigningKey, SM2_USER_ID};
    use crate::card::{
        CardApplication, CardContext, CardCounters, CardProfile, MemoryCounterStore,
    };
    use crate::crypto::ecdsa::verify_p256;
    use crate::crypto::sm2::verify_sm2;
    use crate::se::fake::{Call, FakeSe};
    use std::sync::{Arc, Mutex};

    const DEBIT: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01];

    /// A debit card application of `crypto` with PIN `123456`, selected.
    fn card(crypto: CardCrypto, with_pin: bool) -> (CardApplication, Option<Vec<u8>>) {
        let perso = CardPersonalization {
            account_kind: AccountKind::Debit,
            pan: "6288881234567890".into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto,
            currency: 156,
            country: 156,
            keys: CardKeys {
                ac: Zeroizing::new([1; 16]),
                smi: Zeroizing::new([2; 16]),
                smc: Zeroizing::new([3; 16]),
            },
            ecash: None,
        };
        let counters = CardCounters::initial(&perso);
        let mut app = CardApplication::new(CardProfile::new(perso), counters).unwrap();
        if with_pin {
            let signing = CardSigning {
                pin: PinBlock::new("123456").unwrap(),
                key: CardSigningKey::generate(crypto).unwrap(),
            };
            app = app.with_signing(signing, None).unwrap();
        }
        let mut store = MemoryCounterStore::default();
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x08];
        select.extend_from_slice(&DEBIT);
        app.process(&select, &mut CardContext::new(&mut store));
        let public = app.signing_public_key();
        (app, public)
    }

    /// A fake SE whose reader `eSE1` hosts `app` as the payment instance (commands arrive with
    /// the logical channel in the class byte, as OMAPI sends them).
    fn se_hosting(app: CardApplication) -> (SeService, Arc<FakeSe>) {
        let app = Arc::new(Mutex::new((app, MemoryCounterStore::default())));
        let fake = Arc::new(FakeSe::new(&[("eSE1", true)]).with_applet(
            &DEBIT,
            &[0x90, 0x00],
            move |apdu| {
                let mut basic = apdu.to_vec();
                if let Some(cla) = basic.first_mut() {
                    *cla &= 0xFC;
                }
                let mut guard = app.lock().unwrap();
                let (app, store) = &mut *guard;
                app.process(&basic, &mut CardContext::new(store))
            },
        ));
        (SeService::new(fake.clone()), fake)
    }

    #[test]
    fn signs_after_the_pin_with_either_algorithm_and_closes_everything() {
        for crypto in [CardCrypto::Sm4, CardCrypto::Tdes] {
            let (app, public) = card(crypto, true);
            let public = public.unwrap();
            let (se, fake) = se_hosting(app);
            let message = vec![b'm'; 300]; // extended APDU
            let signature = sign_with_applet(&se, "eSE1", &DEBIT, "123456", &message).unwrap();
            match crypto {
                CardCrypto::Sm4 => verify_sm2(&public, SM2_USER_ID, &message, &signature).unwrap(),
                CardCrypto::Tdes => verify_p256(&public, &message, &signature).unwrap(),
            }
            let sent = fake.transmitted();
            assert_eq!(sent.len(), 2);
            assert_eq!(sent[0][1..5], [0x20, 0x00, 0x80, 0x08]);
            assert_eq!(
                sent[0][5..],
                [0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF]
            );
            assert_eq!(sent[1][1..4], [0x2A, 0x9E, 0x9A]);
            assert_eq!(sent[1][4..7], [0x00, 0x01, 0x2C], "extended Lc");
            assert_eq!(fake.open_counts(), (0, 0));
            assert!(fake.calls().contains(&Call::CloseSession));
        }
    }

    #[test]
    fn the_verify_command_is_encoded_once_into_zeroizing_memory() {
        let block = PinBlock::new("123456").unwrap();
        let verify = verify_command(&block).unwrap();
        zeroize_on_drop(&verify);
        assert_eq!(
            verify.as_slice(),
            [0x00, 0x20, 0x00, 0x80, 0x08, 0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            verify.capacity(),
            verify.len(),
            "allocated at its final length"
        );
    }

    /// The value's type zeroizes itself on drop (compile-time check).
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

    #[test]
    fn wrong_pins_block_and_nothing_is_signed() {
        let (app, _) = card(CardCrypto::Sm4, true);
        let (se, fake) = se_hosting(app);
        let sign = |pin: &str| sign_with_applet(&se, "eSE1", &DEBIT, pin, b"order");
        assert_eq!(
            sign("654321"),
            Err(SeSignError::PinWrong { attempts_left: 2 })
        );
        assert_eq!(
            sign("654321"),
            Err(SeSignError::PinWrong { attempts_left: 1 })
        );
        assert_eq!(
            sign("654321"),
            Err(SeSignError::PinWrong { attempts_left: 0 })
        );
        assert_eq!(sign("123456"), Err(SeSignError::PinBlocked));
        // No PSO was ever sent.
        assert!(fake.transmitted().iter().all(|apdu| apdu[1] == 0x20));
        assert_eq!(fake.open_counts(), (0, 0));
    }

    #[test]
    fn bad_input_and_missing_keys_are_typed() {
        let (app, _) = card(CardCrypto::Sm4, false);
        let (se, fake) = se_hosting(app);
        for bad in ["123", "1234567890123", "12 34", "abcd"] {
            assert_eq!(
                sign_with_applet(&se, "eSE1", &DEBIT, bad, b"m"),
                Err(SeSignError::InvalidPin)
            );
        }
        assert_eq!(
            sign_with_applet(&se, "eSE1", &DEBIT, "1234", &[0; MAX_MESSAGE_LEN + 1]),
            Err(SeSignError::Card(0x6700))
        );
        assert_eq!(
            sign_with_applet(&se, "eSE1", &DEBIT, "1234", b""),
            Err(SeSignError::Card(0x6700))
        );
        assert!(fake.calls().is_empty(), "refused before touching the SE");
        assert_eq!(
            sign_with_applet(&se, "eSE1", &DEBIT, "1234", b"m"),
            Err(SeSignError::NoSigningKey)
        );
        assert!(matches!(
            sign_with_applet(&se, "eSE1", &[0xA0, 0, 0, 0, 0x99], "1234", b"m"),
            Err(SeSignError::Se(_))
        ));
        assert!(matches!(
            sign_with_applet(&se, "SIM1", &DEBIT, "1234", b"m"),
            Err(SeSignError::Se(_))
        ));
        assert_eq!(fake.open_counts(), (0, 0));
        assert_eq!(status_error(0x6F00), SeSignError::Card(0x6F00));
    }
}
