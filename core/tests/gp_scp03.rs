//! GlobalPlatform SCP03 end to end: the published mutual authentication of
//! `shared/vectors/scp03.json`, then a TSM-side [`Scp03Host`] talking to an SE-side
//! [`Scp03Card`] at every security level, tampering, replay, and the precomputed session of a
//! pseudo-random card challenge.

use proptest::prelude::*;
use serde_json::Value;
use std::path::PathBuf;
use wallet_core::apdu::{CommandApdu, LogicalChannel, ResponseApdu, StatusWord};
use wallet_core::gp::scp03::{InitializeUpdateResponse, Scp03Options, SequenceCounter};
use wallet_core::gp::{
    Aid, GpError, Scp03Card, Scp03CardConfig, Scp03Host, SecurityLevel, StaticKeys,
};

fn vector() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/scp03.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("scp03.json is JSON")
}

fn field<const N: usize>(v: &Value, name: &str) -> [u8; N] {
    let text = v[name].as_str().unwrap_or_else(|| panic!("missing {name}"));
    hex::decode(text)
        .unwrap()
        .try_into()
        .unwrap_or_else(|_| panic!("{name} is not {N} bytes"))
}

fn isd() -> Aid {
    Aid::new(Aid::GP_ISD).unwrap()
}

fn test_keys() -> StaticKeys {
    StaticKeys::from_slices(&[0x41; 16], &[0x42; 16], &[0x43; 16], 0x30).unwrap()
}

fn card_with(options: Scp03Options, counter: u32) -> Scp03Card {
    let config = Scp03CardConfig {
        options,
        key_diversification_data: *b"SE-0000042",
        aid: isd(),
    };
    Scp03Card::new(test_keys(), config, SequenceCounter::new(counter).unwrap())
}

/// Runs INITIALIZE UPDATE and EXTERNAL AUTHENTICATE between a new host and `card`.
fn open(card: &mut Scp03Card, level: SecurityLevel) -> Scp03Host {
    let mut host = Scp03Host::new(test_keys(), level).unwrap();
    let resp = card
        .initialize_update(&host.initialize_update().unwrap())
        .unwrap();
    let ea = host.on_initialize_update_response(&resp).unwrap();
    let ea_resp = card.external_authenticate(&ea).unwrap();
    host.on_external_authenticate_response(&ea_resp).unwrap();
    assert_eq!(card.security_level(), Some(level));
    host
}

/// Sends `cmd` through the channel and answers it with `answer`; returns what the host sees.
fn exchange(
    host: &mut Scp03Host,
    card: &mut Scp03Card,
    cmd: &CommandApdu,
    answer: &ResponseApdu,
) -> ResponseApdu {
    let wrapped = host.wrap(cmd).unwrap();
    assert_eq!(card.unwrap_command(&wrapped).unwrap(), *cmd, "{cmd:?}");
    let resp = card.wrap_response(answer).unwrap();
    host.unwrap(&resp).unwrap()
}

/// The published vector: the host reproduces `external_authenticate_apdu` byte for byte at
/// security level 03 (C-MAC + C-DECRYPTION, per the file's note), and a card holding the same
/// keys and card challenge accepts it.
#[test]
fn published_vector_external_authenticate() {
    let v = vector();
    let keys = StaticKeys::new(
        &field(&v, "static_key_enc"),
        &field(&v, "static_key_mac"),
        &[0; 16],
        0x00,
    );
    let host_challenge: [u8; 8] = field(&v, "host_challenge");
    let card_challenge: [u8; 8] = field(&v, "card_challenge");
    let expected_ea: [u8; 21] = field(&v, "external_authenticate_apdu");

    let mut host =
        Scp03Host::with_host_challenge(keys.clone(), host_challenge, SecurityLevel::C_DEC_C_MAC);
    let iu = InitializeUpdateResponse {
        key_diversification_data: [0; 10],
        key_version: 0x30,
        options: Scp03Options::RANDOM,
        card_challenge,
        card_cryptogram: field(&v, "card_cryptogram"),
        sequence_counter: None,
    };
    let ea = host
        .on_initialize_update_response(&ResponseApdu::success(iu.to_bytes()))
        .unwrap();
    assert_eq!(ea.to_bytes(), expected_ea);

    let config = Scp03CardConfig {
        options: Scp03Options::RANDOM,
        key_diversification_data: [0; 10],
        aid: isd(),
    };
    let mut card = Scp03Card::new(keys, config, SequenceCounter::default());
    let resp = card
        .initialize_update_with_random(&host.initialize_update().unwrap(), card_challenge)
        .unwrap();
    let parsed = InitializeUpdateResponse::parse(&resp.data).unwrap();
    assert_eq!(parsed.card_cryptogram, field::<8>(&v, "card_cryptogram"));
    let ea = CommandApdu::parse(&expected_ea).unwrap();
    assert_eq!(
        card.external_authenticate(&ea).unwrap(),
        ResponseApdu::success(Vec::new())
    );
    assert_eq!(card.security_level(), Some(SecurityLevel::C_DEC_C_MAC));
}

fn commands() -> Vec<CommandApdu> {
    vec![
        CommandApdu::new(0x80, 0xF0, 0x80, 0x0F),
        CommandApdu::new(0x80, 0xCA, 0x00, 0x66).with_short_le(0),
        CommandApdu::new(0x80, 0xE4, 0x00, 0x80)
            .with_data(vec![0x4F, 5, 1, 2, 3, 4, 5])
            .unwrap(),
        CommandApdu::new(0x80, 0xF2, 0x40, 0x02)
            .with_data(vec![0x4F, 0x00])
            .unwrap()
            .with_short_le(0),
        CommandApdu::new(0x80, 0xE2, 0x88, 0x00)
            .with_data(vec![0xA5; 16])
            .unwrap(),
        CommandApdu::new(0x80, 0xE8, 0x80, 0x01)
            .with_data(vec![0x5A; 300])
            .unwrap(),
        CommandApdu::new(0x00, 0xA4, 0x04, 0x00)
            .with_data(Aid::GP_ISD.to_vec())
            .unwrap()
            .with_le(1000)
            .unwrap(),
    ]
}

fn answers() -> Vec<ResponseApdu> {
    vec![
        ResponseApdu::success(Vec::new()),
        ResponseApdu::success(vec![0x66, 0x03, 0x73, 0x01, 0x00]),
        ResponseApdu::success(vec![0x00]),
        ResponseApdu::new(vec![0xE3, 0x00], 0x6310u16),
        ResponseApdu::success(vec![0x33; 32]),
        ResponseApdu::success(vec![0x44; 200]),
        ResponseApdu::status_only(0x6A82u16),
    ]
}

/// Every security level, random and pseudo-random challenges, several commands with and
/// without data and Le, responses with data, without, warnings and errors.
#[test]
fn round_trips_at_every_level() {
    for options in [
        Scp03Options::RANDOM_R_MAC_R_ENC,
        Scp03Options::PSEUDO_RANDOM_R_MAC_R_ENC,
    ] {
        for level in SecurityLevel::ALL {
            let mut card = card_with(options, 7);
            let mut host = open(&mut card, level);
            for _ in 0..2 {
                for (cmd, answer) in commands().iter().zip(answers()) {
                    let seen = exchange(&mut host, &mut card, cmd, &answer);
                    assert_eq!(seen, answer, "level {level:?} {cmd:?}");
                }
            }
            if options.pseudo_random() {
                assert_eq!(card.sequence_counter().value(), 8);
            }
        }
    }
}

#[test]
fn level_must_be_supported_by_the_card() {
    let mut card = card_with(Scp03Options::RANDOM, 0);
    let mut host = Scp03Host::new(test_keys(), SecurityLevel::C_MAC_R_MAC).unwrap();
    let resp = card
        .initialize_update(&host.initialize_update().unwrap())
        .unwrap();
    assert_eq!(
        host.on_initialize_update_response(&resp),
        Err(GpError::SecurityLevelNotSupported { level: 0x11 })
    );
    assert!(!host.is_open());
}

fn assert_closed(card: &mut Scp03Card, host: &mut Scp03Host, err: GpError, expected: GpError) {
    assert_eq!(err, expected);
    assert_eq!(err.status_word(), StatusWord(0x6982));
    assert!(!card.is_open());
    let next = host
        .wrap(&CommandApdu::new(0x80, 0xF0, 0x80, 0x0F))
        .unwrap();
    assert_eq!(card.unwrap_command(&next), Err(GpError::ChannelClosed));
}

#[test]
fn flipped_mac_bit_closes_the_session() {
    let mut card = card_with(Scp03Options::RANDOM, 0);
    let mut host = open(&mut card, SecurityLevel::C_MAC);
    let mut bytes = host.wrap(&commands()[2]).unwrap().to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let err = card
        .unwrap_command(&CommandApdu::parse(&bytes).unwrap())
        .unwrap_err();
    assert_closed(&mut card, &mut host, err, GpError::CommandMac);
}

#[test]
fn flipped_ciphertext_bit_closes_the_session() {
    let mut card = card_with(Scp03Options::RANDOM, 0);
    let mut host = open(&mut card, SecurityLevel::C_DEC_C_MAC);
    let mut bytes = host.wrap(&commands()[4]).unwrap().to_bytes();
    bytes[6] ^= 0x80;
    let err = card
        .unwrap_command(&CommandApdu::parse(&bytes).unwrap())
        .unwrap_err();
    assert_closed(&mut card, &mut host, err, GpError::CommandMac);
}

#[test]
fn replayed_command_is_rejected() {
    let mut card = card_with(Scp03Options::RANDOM, 0);
    let mut host = open(&mut card, SecurityLevel::C_DEC_C_MAC);
    let wrapped = host.wrap(&commands()[2]).unwrap();
    card.unwrap_command(&wrapped).unwrap();
    let err = card.unwrap_command(&wrapped).unwrap_err();
    assert_closed(&mut card, &mut host, err, GpError::CommandMac);
}

#[test]
fn unprotected_command_in_a_mac_session_is_rejected() {
    let mut card = card_with(Scp03Options::RANDOM, 0);
    let mut host = open(&mut card, SecurityLevel::C_MAC);
    let err = card.unwrap_command(&commands()[0]).unwrap_err();
    assert_closed(&mut card, &mut host, err, GpError::SecureMessagingMissing);
}

#[test]
fn tampered_response_closes_the_host() {
    for flip in [0usize, 40] {
        let mut card = card_with(Scp03Options::RANDOM_R_MAC_R_ENC, 0);
        let mut host = open(&mut card, SecurityLevel::FULL);
        let wrapped = host.wrap(&commands()[1]).unwrap();
        card.unwrap_command(&wrapped).unwrap();
        let mut resp = card
            .wrap_response(&ResponseApdu::success(vec![0x55; 40]))
            .unwrap();
        resp.data[flip] ^= 0x01; // ciphertext (0) or R-MAC (40: after 48 - 8)
        assert_eq!(host.unwrap(&resp), Err(GpError::ResponseMac));
        assert!(!host.is_open());
        assert_eq!(host.wrap(&commands()[0]), Err(GpError::ChannelClosed));
    }
}

#[test]
fn wrong_keys_fail_mutual_authentication() {
    let wrong = || StaticKeys::from_slices(&[0x41; 16], &[0x99; 16], &[0x43; 16], 0x30).unwrap();
    let mut card = card_with(Scp03Options::RANDOM, 0);
    let mut host = Scp03Host::new(wrong(), SecurityLevel::C_MAC).unwrap();
    let resp = card
        .initialize_update(&host.initialize_update().unwrap())
        .unwrap();
    assert_eq!(
        host.on_initialize_update_response(&resp),
        Err(GpError::CardCryptogram)
    );
    assert!(!host.is_open());

    // A forged EXTERNAL AUTHENTICATE is refused and resets the card.
    let ea = CommandApdu::new(0x84, 0x82, 0x01, 0x00)
        .with_data(vec![0; 16])
        .unwrap();
    assert_eq!(
        card.external_authenticate(&ea),
        Err(GpError::HostCryptogram)
    );
    assert!(!card.is_open());
    assert!(matches!(
        card.external_authenticate(&ea),
        Err(GpError::UnexpectedState(_))
    ));

    // A precomputed host never sees the card cryptogram: the card catches its wrong keys.
    let mut card = card_with(Scp03Options::PSEUDO_RANDOM, 0);
    let host = Scp03Host::precomputed(
        wrong(),
        [7; 8],
        SequenceCounter::new(1).unwrap(),
        &isd(),
        SecurityLevel::C_MAC,
    )
    .unwrap();
    card.initialize_update(&host.initialize_update().unwrap())
        .unwrap();
    let err = card
        .external_authenticate(&host.external_authenticate().unwrap())
        .unwrap_err();
    assert_eq!(
        (err.clone(), err.status_word()),
        (GpError::HostCryptogram, StatusWord(0x6982))
    );
}

#[test]
fn key_version_and_counter_limits() {
    let mut card = card_with(Scp03Options::PSEUDO_RANDOM, SequenceCounter::MAX);
    let iu = CommandApdu::new(0x80, 0x50, 0x31, 0x00)
        .with_data(vec![1; 8])
        .unwrap()
        .with_short_le(0);
    let err = card.initialize_update(&iu).unwrap_err();
    assert_eq!(err.status_word(), StatusWord(0x6A88));
    let iu = CommandApdu::new(0x80, 0x50, 0x30, 0x00)
        .with_data(vec![1; 8])
        .unwrap()
        .with_short_le(0);
    assert_eq!(
        card.initialize_update(&iu),
        Err(GpError::SequenceCounterExhausted)
    );
}

/// The TSM builds the whole card-opening script before the SE answers anything; the SE runs it
/// and the TSM verifies the batch of responses afterwards.
#[test]
fn precomputed_script_for_a_pseudo_random_card() {
    let mut card = card_with(Scp03Options::PSEUDO_RANDOM_R_MAC_R_ENC, 41);
    let level = SecurityLevel::FULL;
    let next = SequenceCounter::new(42).unwrap();
    let mut host = Scp03Host::precomputed(test_keys(), [0x5C; 8], next, &isd(), level).unwrap();

    let mut script = vec![
        host.initialize_update().unwrap(),
        host.external_authenticate().unwrap(),
    ];
    for cmd in commands() {
        script.push(host.wrap(&cmd).unwrap());
    }

    // The SE side, one APDU at a time.
    let mut responses = vec![card.initialize_update(&script[0]).unwrap()];
    responses.push(card.external_authenticate(&script[1]).unwrap());
    for (wrapped, (cmd, answer)) in script[2..].iter().zip(commands().iter().zip(answers())) {
        assert_eq!(card.unwrap_command(wrapped).unwrap(), *cmd);
        responses.push(card.wrap_response(&answer).unwrap());
    }
    assert_eq!(card.sequence_counter(), next);

    // The TSM checks the batch.
    host.check_initialize_update_response(&responses[0])
        .unwrap();
    host.on_external_authenticate_response(&responses[1])
        .unwrap();
    for (resp, answer) in responses[2..].iter().zip(answers()) {
        assert_eq!(host.unwrap(resp).unwrap(), answer);
    }
}

#[test]
fn precomputation_detects_a_wrong_counter() {
    let mut card = card_with(Scp03Options::PSEUDO_RANDOM, 41);
    let stale = SequenceCounter::new(41).unwrap();
    let mut host =
        Scp03Host::precomputed(test_keys(), [0x5C; 8], stale, &isd(), SecurityLevel::C_MAC)
            .unwrap();
    let resp = card
        .initialize_update(&host.initialize_update().unwrap())
        .unwrap();
    assert_eq!(
        host.check_initialize_update_response(&resp),
        Err(GpError::PredictionMismatch("sequence counter"))
    );
    assert!(!host.is_open());
}

/// The C-MAC covers the class byte with channel 0, so the phone may relay a script on any
/// logical channel.
#[test]
fn wrapped_commands_survive_channel_re_addressing() {
    for channel in [2u8, 5, 19] {
        let mut card = card_with(Scp03Options::RANDOM, 0);
        let mut host = open(&mut card, SecurityLevel::C_DEC_C_MAC);
        let cmd = commands()[2].clone();
        let wrapped = host.wrap(&cmd).unwrap();
        let relayed = wrapped
            .on_channel(LogicalChannel::new(channel).unwrap())
            .unwrap();
        let unwrapped = card.unwrap_command(&relayed).unwrap();
        assert_eq!(unwrapped.data(), cmd.data());
        assert_eq!(unwrapped.class().channel().unwrap().number(), channel);
    }
}

fn arb_command() -> impl Strategy<Value = CommandApdu> {
    (
        prop_oneof![Just(0x80u8), Just(0x00), Just(0x81), Just(0xC3)],
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::option::of(1u32..=65536),
    )
        .prop_map(|(cla, ins, p1, p2, data, ne)| {
            let cmd = CommandApdu::new(cla, ins, p1, p2).with_data(data).unwrap();
            match ne {
                Some(ne) => cmd.with_le(ne).unwrap(),
                None => cmd,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random command bodies and response data survive wrap → unwrap at a random level.
    #[test]
    fn random_bodies_round_trip(
        level in proptest::sample::select(SecurityLevel::ALL.to_vec()),
        cmds in proptest::collection::vec(arb_command(), 1..6),
        reply in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut card = card_with(Scp03Options::RANDOM_R_MAC_R_ENC, 0);
        let mut host = open(&mut card, level);
        for cmd in &cmds {
            let wrapped = host.wrap(cmd).unwrap();
            // What travels must be a valid APDU.
            let on_wire = CommandApdu::parse(&wrapped.to_bytes()).unwrap();
            prop_assert_eq!(&card.unwrap_command(&on_wire).unwrap(), cmd);
            let answer = ResponseApdu::success(reply.clone());
            let resp = ResponseApdu::parse(&card.wrap_response(&answer).unwrap().to_bytes()).unwrap();
            prop_assert_eq!(host.unwrap(&resp).unwrap(), answer);
        }
    }
}
