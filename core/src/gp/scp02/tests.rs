//! SCP02 against two real-card traces, GlobalPlatformPro's published key-derivation values, and
//! host ↔ card sessions.

use super::*;
use crate::apdu::{CommandApdu, ResponseApdu};
use crate::crypto::des::des_ecb_encrypt;
use crate::crypto::mac::retail_mac;
use crate::gp::keys::{kcv_des, GP_TEST_KEY};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn a8(s: &str) -> [u8; 8] {
    h(s).try_into().unwrap()
}

/// The keys of GlobalPlatformPro issue #192 (`gp --key-enc 9037.. --key-mac 473F.. --key-dek
/// D374..`, a card answering SCP02 with key version FF).
fn issue_192_keys() -> StaticKeys {
    StaticKeys::from_slices(
        &h("90379A3E7116D455E55F9398736A01CA"),
        &h("473F36161A7F7F60CC3A766EA4BE5247"),
        &h("D3749ED4FF42FD58B39EEB562B017CD9"),
        0x00,
    )
    .unwrap()
}

/// Two INITIALIZE UPDATE exchanges of that card (host challenge, response data, the first
/// bytes of S-ENC GlobalPlatformPro printed): the card cryptograms verify and the card side
/// reproduces the responses byte for byte.
#[test]
fn real_card_initialize_update() {
    let cases = [
        (
            "85E62B2D580A74B1",
            "00003266201710208650FF020019051296110E9665CAA9C7C9B8233B",
            "E4AA9964",
        ),
        (
            "BA53AAED5BBD5654",
            "00003266201710208650FF02001825ACCEA6297056E582A1325F085B",
            "BAD64CE83A5155EC391BC04F",
        ),
    ];
    for (hc, resp, s_enc_prefix) in cases {
        let resp = h(resp);
        let parsed = Scp02InitializeUpdateResponse::parse(&resp).unwrap();
        let keys = SessionKeys::derive(&issue_192_keys(), parsed.sequence_counter).unwrap();
        assert!(hex::encode_upper(&keys.enc[..]).starts_with(s_enc_prefix));

        let mut host =
            Scp02Host::with_host_challenge(issue_192_keys(), a8(hc), SecurityLevel::C_MAC).unwrap();
        let ea = host.on_initialize_update_response(&ResponseApdu::success(resp.clone()));
        assert_eq!(ea.unwrap().to_bytes()[..5], h("8482010010"));

        let mut card = Scp02Card::new(
            issue_192_keys().with_version(0xFF),
            parsed.key_diversification_data,
            parsed.sequence_counter,
        );
        let iu = host.initialize_update().unwrap();
        let answer = card
            .initialize_update_with_random(&iu, parsed.card_challenge)
            .unwrap();
        assert_eq!(answer.data, resp);
    }
}

/// GlobalPlatformPro `TestPlaintextKeys.testSessionKeys_SCP02` and `testKeyEncryption_SCP02`:
/// static keys 404142..4F, counter 0000 → session key KCVs F2DCDD (ENC), 5FCC69 (C-MAC),
/// 85272E (DEK), 9F749A (R-MAC); the key 404142..4F under the session DEK is
/// EFBEE6C6D99D7B70BDE9D7E927F020AF.
#[test]
fn session_keys_published_kcvs() {
    let keys = SessionKeys::derive(&StaticKeys::single(&GP_TEST_KEY, 0), 0).unwrap();
    assert_eq!(kcv_des(&keys.enc[..]).unwrap(), [0xF2, 0xDC, 0xDD]);
    assert_eq!(kcv_des(&keys.mac[..]).unwrap(), [0x5F, 0xCC, 0x69]);
    assert_eq!(kcv_des(&keys.dek[..]).unwrap(), [0x85, 0x27, 0x2E]);
    let rmac = derive(&GP_TEST_KEY, R_MAC, [0, 0]).unwrap();
    assert_eq!(kcv_des(&rmac[..]).unwrap(), [0x9F, 0x74, 0x9A]);
    let kek = crate::gp::keys::KeyEncryptionKey::tdes(&keys.dek);
    assert_eq!(
        kek.encrypt(&GP_TEST_KEY).unwrap(),
        h("EFBEE6C6D99D7B70BDE9D7E927F020AF")
    );
}

fn pair(level: SecurityLevel) -> (Scp02Host, Scp02Card) {
    let keys = StaticKeys::single(&GP_TEST_KEY, 0x20);
    let mut card = Scp02Card::new(keys.clone(), [7; 10], 0x0041);
    let mut host = Scp02Host::with_host_challenge(keys, [0x11; 8], level).unwrap();
    let resp = card
        .initialize_update_with_random(&host.initialize_update().unwrap(), [0x22; 6])
        .unwrap();
    let ea = host.on_initialize_update_response(&resp).unwrap();
    host.on_external_authenticate_response(&card.external_authenticate(&ea).unwrap())
        .unwrap();
    assert_eq!(card.sequence_counter(), 0x0042);
    (host, card)
}

fn commands() -> Vec<CommandApdu> {
    vec![
        CommandApdu::new(0x80, 0xF0, 0x80, 0x0F),
        CommandApdu::new(0x80, 0xCA, 0x00, 0x66).with_short_le(0),
        CommandApdu::new(0x80, 0xF2, 0x40, 0x02)
            .with_data(h("4F00"))
            .unwrap()
            .with_short_le(0),
        CommandApdu::new(0x80, 0xE2, 0x80, 0x00)
            .with_data(vec![0x5A; 200])
            .unwrap(),
        CommandApdu::new(0x80, 0xE2, 0x80, 0x01)
            .with_data(vec![0x5B; 8])
            .unwrap(),
    ]
}

/// The second C-MAC, written out: ICV = DES(S-MAC left half, first C-MAC); retail MAC of
/// `84 F0 80 0F 08` under S-MAC.
#[test]
fn icv_encryption_by_hand() {
    let keys = StaticKeys::single(&GP_TEST_KEY, 0x20);
    let (mut host, _card) = pair(SecurityLevel::C_MAC);
    let s = SessionKeys::derive(&keys, 0x0041).unwrap();
    let hc = s.host_cryptogram(&[0x11; 8], &[0x22; 6]).unwrap();
    let ea_mac = retail_mac(
        &s.mac,
        &[0; 8],
        &[&h("8482010010")[..], &hc].concat(),
        Padding::Method2,
    )
    .unwrap();
    let left: [u8; 8] = s.mac[..8].try_into().unwrap();
    let icv: [u8; 8] = des_ecb_encrypt(&left, &ea_mac).unwrap().try_into().unwrap();
    let mac = retail_mac(&s.mac, &icv, &h("84F0800F08"), Padding::Method2).unwrap();
    let wrapped = host.wrap(&commands()[0]).unwrap();
    assert_eq!(wrapped.to_bytes(), [&h("84F0800F08")[..], &mac].concat());
}

#[test]
fn round_trips() {
    for level in [
        SecurityLevel::NONE,
        SecurityLevel::C_MAC,
        SecurityLevel::C_DEC_C_MAC,
    ] {
        let (mut host, mut card) = pair(level);
        for cmd in commands() {
            let wrapped = host.wrap(&cmd).unwrap();
            let wire = CommandApdu::parse(&wrapped.to_bytes()).unwrap();
            assert_eq!(card.unwrap_command(&wire).unwrap(), cmd, "{level:?}");
            let answer = ResponseApdu::success(vec![1, 2, 3]);
            assert_eq!(
                host.unwrap(&card.wrap_response(&answer).unwrap()).unwrap(),
                answer
            );
        }
        assert_eq!(card.security_level(), Some(level));
    }
    assert!(Scp02Host::new(
        StaticKeys::single(&GP_TEST_KEY, 0),
        SecurityLevel::C_MAC_R_MAC
    )
    .is_err());
}

#[test]
fn tampering_and_replay_close_the_session() {
    for (level, index, flip) in [
        (SecurityLevel::C_MAC, 2usize, 7usize), // MAC byte
        (SecurityLevel::C_DEC_C_MAC, 2, 5),     // ciphertext byte
    ] {
        let (mut host, mut card) = pair(level);
        let mut bytes = host.wrap(&commands()[index]).unwrap().to_bytes();
        let at = if flip == 7 { bytes.len() - 2 } else { flip };
        bytes[at] ^= 0x01;
        let err = card
            .unwrap_command(&CommandApdu::parse(&bytes).unwrap())
            .unwrap_err();
        assert!(
            matches!(err, GpError::CommandMac | GpError::Decryption),
            "{err:?}"
        );
        assert_eq!(err.status_word().0, 0x6982);
        assert!(!card.is_open());
    }
    let (mut host, mut card) = pair(SecurityLevel::C_MAC);
    let wrapped = host.wrap(&commands()[1]).unwrap();
    card.unwrap_command(&wrapped).unwrap();
    assert_eq!(card.unwrap_command(&wrapped), Err(GpError::CommandMac));
    assert_eq!(card.unwrap_command(&wrapped), Err(GpError::ChannelClosed));
}

#[test]
fn wrong_keys_and_malformed_responses() {
    let mut card = Scp02Card::new(StaticKeys::single(&GP_TEST_KEY, 0x20), [0; 10], 1);
    let mut host = Scp02Host::with_host_challenge(
        StaticKeys::single(&[0x99; 16], 0x20),
        [1; 8],
        SecurityLevel::C_MAC,
    )
    .unwrap();
    let resp = card
        .initialize_update(&host.initialize_update().unwrap())
        .unwrap();
    assert_eq!(
        host.on_initialize_update_response(&resp),
        Err(GpError::CardCryptogram)
    );
    let ea = CommandApdu::new(0x84, 0x82, 0x01, 0x00)
        .with_data(vec![0; 16])
        .unwrap();
    assert_eq!(
        card.external_authenticate(&ea),
        Err(GpError::HostCryptogram)
    );
    assert_eq!(card.sequence_counter(), 1);
    assert!(Scp02InitializeUpdateResponse::parse(&[0; 27]).is_err());
    assert!(Scp02InitializeUpdateResponse::parse(&[0; 29]).is_err());
    let mut scp03 = [0u8; 28];
    scp03[11] = 0x03;
    assert!(Scp02InitializeUpdateResponse::parse(&scp03).is_err());
}
