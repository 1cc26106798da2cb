//! Unit tests of SCP03 against a real card's trace and hand computations of Amendment D's
//! formulas (written out here with the crypto primitives, not with the code under test).

use super::*;
use crate::apdu::{ResponseApdu, StatusWord};
use crate::crypto::aes::{aes_cbc_encrypt, aes_ecb_encrypt};
use crate::crypto::cmac::aes_cmac;
use crate::crypto::mac::{pad, Padding};
use crate::gp::keys::GP_TEST_KEY;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn a8(s: &str) -> [u8; 8] {
    h(s).try_into().unwrap()
}

fn isd() -> Aid {
    Aid::new(Aid::GP_ISD).unwrap()
}

/// A real card (GlobalPlatformPro issue #98, debug log of `gp -l` against an SCP03 `i=10` card
/// with the default test key 404142..4F and ISD A000000151000000): host challenge
/// C81ED3B6B3DEF556, card challenge 86C8BD65FA1044EE, card cryptogram CF4A8EE6E34A4321. The
/// pseudo-random card challenge is reproduced from sequence counter 000001 and the ISD AID.
#[test]
fn pseudo_random_challenge_of_a_real_card() {
    let keys = StaticKeys::single(&GP_TEST_KEY, 0x00);
    let counter = SequenceCounter::new(1).unwrap();
    let challenge = pseudo_random_card_challenge(&keys, counter, &isd()).unwrap();
    assert_eq!(challenge, a8("86C8BD65FA1044EE"));
    let session = SessionKeys::derive(&keys, &a8("C81ED3B6B3DEF556"), &challenge).unwrap();
    assert_eq!(
        hex::encode_upper(&session.enc[..]),
        "3D991C5571391EB5BEF93DB2A4FD13D8"
    );
    assert_eq!(
        hex::encode_upper(&session.mac[..]),
        "9BAB6C2C1EFEAC6E4F3B214ABABAC3B1"
    );
    assert_eq!(session.card_cryptogram().unwrap(), a8("CF4A8EE6E34A4321"));
    assert_eq!(session.host_cryptogram().unwrap(), a8("DC79BEA879C62D44"));
}

/// The card side answers that trace's INITIALIZE UPDATE exactly as the real card did, and a
/// host precomputed for counter 000001 accepts the answer.
#[test]
fn card_and_precomputed_host_reproduce_the_real_card() {
    let keys = StaticKeys::single(&GP_TEST_KEY, 0x30);
    let config = Scp03CardConfig {
        options: Scp03Options::PSEUDO_RANDOM,
        key_diversification_data: [0; 10],
        aid: isd(),
    };
    let mut card = Scp03Card::new(keys.clone(), config, SequenceCounter::default());
    let hc = a8("C81ED3B6B3DEF556");
    let host = Scp03Host::precomputed(
        keys,
        hc,
        SequenceCounter::new(1).unwrap(),
        &isd(),
        SecurityLevel::C_MAC,
    );
    let mut host = host.unwrap();
    let resp = card
        .initialize_update(&host.initialize_update().unwrap())
        .unwrap();
    assert_eq!(card.sequence_counter().value(), 1);
    let parsed = InitializeUpdateResponse::parse(&resp.data).unwrap();
    assert_eq!(parsed.card_challenge, a8("86C8BD65FA1044EE"));
    assert_eq!(parsed.card_cryptogram, a8("CF4A8EE6E34A4321"));
    assert_eq!(
        parsed.sequence_counter,
        Some(SequenceCounter::new(1).unwrap())
    );
    host.check_initialize_update_response(&resp).unwrap();
    card.external_authenticate(&host.external_authenticate().unwrap())
        .unwrap();
    assert!(card.is_open());
}

#[test]
fn initialize_update_response_layout() {
    let data = h("00112233445566778899300310AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB00002A");
    let parsed = InitializeUpdateResponse::parse(&data).unwrap();
    assert_eq!(
        parsed.key_diversification_data,
        *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99"
    );
    assert_eq!(parsed.key_version, 0x30);
    assert_eq!(parsed.options, Scp03Options::PSEUDO_RANDOM);
    assert_eq!(parsed.card_challenge, [0xAA; 8]);
    assert_eq!(parsed.card_cryptogram, [0xBB; 8]);
    assert_eq!(
        parsed.sequence_counter.map(SequenceCounter::value),
        Some(0x2A)
    );
    assert_eq!(parsed.to_bytes(), data);
    // i = 00: 29 bytes, no counter.
    let random = h("00000000000000000000010300CCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD");
    assert_eq!(
        InitializeUpdateResponse::parse(&random)
            .unwrap()
            .sequence_counter,
        None
    );
    // Trailing bytes, truncation, SCP02 key information, RFU bits of i.
    assert!(InitializeUpdateResponse::parse(&data[..31]).is_err());
    assert!(InitializeUpdateResponse::parse(&[random.clone(), vec![0]].concat()).is_err());
    let mut scp02 = random.clone();
    scp02[11] = 0x02;
    assert_eq!(
        InitializeUpdateResponse::parse(&scp02),
        Err(GpError::ProtocolNotSupported { scp: 2, i: 0 })
    );
    let mut rfu = random;
    rfu[12] = 0x01;
    assert!(InitializeUpdateResponse::parse(&rfu).is_err());
}

#[test]
fn options_and_counter() {
    assert!(Scp03Options::new(0x40).is_err(), "R-ENC without R-MAC");
    assert!(Scp03Options::new(0x80).is_err());
    let i70 = Scp03Options::new(0x70).unwrap();
    assert!(i70.pseudo_random() && i70.supports(SecurityLevel::FULL));
    assert!(!Scp03Options::RANDOM.supports(SecurityLevel::C_MAC_R_MAC));
    assert!(Scp03Options::new(0x20)
        .unwrap()
        .supports(SecurityLevel::C_DEC_C_MAC_R_MAC));
    assert!(!Scp03Options::new(0x20)
        .unwrap()
        .supports(SecurityLevel::FULL));
    let c = SequenceCounter::from_bytes([0x01, 0x02, 0x03]);
    assert_eq!(c.value(), 0x010203);
    assert_eq!(c.to_bytes(), [1, 2, 3]);
    assert!(SequenceCounter::new(0x0100_0000).is_err());
    assert_eq!(
        SequenceCounter::new(SequenceCounter::MAX).unwrap().next(),
        None
    );
    assert_eq!(
        initialize_update_command(0x30, &[1; 8]).unwrap().to_bytes(),
        h("8050300008010101010101010100")
    );
}

/// Opens a host/card pair with fixed challenges at `level` (card `i = 70`).
fn open_pair(level: SecurityLevel) -> (Scp03Host, Scp03Card, SessionKeys) {
    let keys = StaticKeys::from_slices(&[0x11; 16], &[0x22; 16], &[0x33; 16], 0x30).unwrap();
    let config = Scp03CardConfig {
        options: Scp03Options::RANDOM_R_MAC_R_ENC,
        key_diversification_data: [9; 10],
        aid: isd(),
    };
    let mut card = Scp03Card::new(keys.clone(), config, SequenceCounter::default());
    let mut host = Scp03Host::with_host_challenge(keys.clone(), [0xA1; 8], level);
    let resp = card
        .initialize_update_with_random(&host.initialize_update().unwrap(), [0xC2; 8])
        .unwrap();
    let ea = host.on_initialize_update_response(&resp).unwrap();
    host.on_external_authenticate_response(&card.external_authenticate(&ea).unwrap())
        .unwrap();
    let session = SessionKeys::derive(&keys, &[0xA1; 8], &[0xC2; 8]).unwrap();
    (host, card, session)
}

/// C-MAC and C-DECRYPTION of the first command after EXTERNAL AUTHENTICATE, written out from
/// Amendment D: counter 1, ICV = AES(S-ENC, 00..01), CMAC over the EA's full CMAC || header.
#[test]
fn first_wrapped_command_by_hand() {
    let (mut host, _card, s) = open_pair(SecurityLevel::C_DEC_C_MAC);
    let host_cryptogram = s.host_cryptogram().unwrap();
    let ea_header = h("8482030010");
    // The first chaining value is 16 zero bytes.
    let chaining = aes_cmac(
        &s.mac[..],
        &[&[0u8; 16][..], &ea_header, &host_cryptogram].concat(),
    )
    .unwrap();
    let cmd = CommandApdu::new(0x80, 0xF2, 0x40, 0x02)
        .with_data(h("4F00"))
        .unwrap()
        .with_short_le(0);
    let wrapped = host.wrap(&cmd).unwrap();

    let mut counter = [0u8; 16];
    counter[15] = 1;
    let icv: [u8; 16] = aes_ecb_encrypt(&s.enc[..], &counter)
        .unwrap()
        .try_into()
        .unwrap();
    // 4F 00 padded: 4F 00 80 00 .. 00 (16 bytes).
    let padded = h("4F008000000000000000000000000000");
    assert_eq!(padded, pad(&h("4F00"), 16, Padding::Method2));
    let ciphertext = aes_cbc_encrypt(&s.enc[..], &icv, &padded).unwrap();
    let mac_input = [&chaining[..], &h("84F2400218"), &ciphertext].concat();
    let mac = aes_cmac(&s.mac[..], &mac_input).unwrap();
    let expected = [&h("84F2400218"), &ciphertext[..], &mac[..8], &[0x00]].concat();
    assert_eq!(wrapped.to_bytes(), expected);
}

/// R-MAC and R-ENCRYPTION of a response, written out: ICV = AES(S-ENC, 80 00..01), R-MAC over
/// the command's full CMAC || encrypted data || SW.
#[test]
fn response_protection_by_hand() {
    let (mut host, mut card, s) = open_pair(SecurityLevel::FULL);
    let cmd = CommandApdu::new(0x80, 0xCA, 0x00, 0x66).with_short_le(0);
    let wrapped = host.wrap(&cmd).unwrap();
    let chaining = {
        // The command's CMAC: CMAC(S-MAC, EA chaining || 84 CA 00 66 08), no data.
        let ea_mac = aes_cmac(
            &s.mac[..],
            &[
                &[0u8; 16][..],
                &h("8482330010"),
                &s.host_cryptogram().unwrap(),
            ]
            .concat(),
        )
        .unwrap();
        aes_cmac(&s.mac[..], &[&ea_mac[..], &h("84CA006608")].concat()).unwrap()
    };
    assert_eq!(wrapped.data(), &chaining[..8]);
    assert_eq!(card.unwrap_command(&wrapped).unwrap(), cmd);

    let plain = ResponseApdu::success(h("6603010203"));
    let resp = card.wrap_response(&plain).unwrap();
    let mut counter = [0u8; 16];
    counter[0] = 0x80;
    counter[15] = 1;
    let icv: [u8; 16] = aes_ecb_encrypt(&s.enc[..], &counter)
        .unwrap()
        .try_into()
        .unwrap();
    let ct = aes_cbc_encrypt(
        &s.enc[..],
        &icv,
        &pad(&h("6603010203"), 16, Padding::Method2),
    )
    .unwrap();
    let rmac = aes_cmac(&s.rmac[..], &[&chaining[..], &ct, &[0x90, 0x00]].concat()).unwrap();
    assert_eq!(resp.data, [&ct[..], &rmac[..8]].concat());
    assert_eq!(host.unwrap(&resp).unwrap(), plain);

    // Error status words travel bare, in both directions.
    host.wrap(&cmd)
        .and_then(|w| card.unwrap_command(&w))
        .unwrap();
    let error = card
        .wrap_response(&ResponseApdu::new(vec![1, 2], 0x6A88u16))
        .unwrap();
    assert_eq!(error.to_bytes(), [0x6A, 0x88]);
    assert_eq!(host.unwrap(&error).unwrap().sw, StatusWord(0x6A88));
}
