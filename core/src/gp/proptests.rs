//! Property tests: every parser of outside data returns a value or an error on arbitrary input
//! (never panics), and the encoders round-trip through the parsers.

use proptest::prelude::*;

use super::commands::{
    Delete, Dgi, GetData, GetStatus, Install, KeyInformation, LoadBlock, PutKey, RegistryEntry,
    SetStatus, StoreData,
};
use super::scp02::Scp02InitializeUpdateResponse;
use super::scp03::{InitializeUpdateResponse, Scp03Options, SequenceCounter};
use super::{Aid, Scp03Card, Scp03CardConfig, Scp03Host, SecurityLevel, StaticKeys};
use crate::apdu::CommandApdu;
use crate::gp::commands::Cplc;

fn arb_command() -> impl Strategy<Value = CommandApdu> {
    (
        prop_oneof![Just(0x80u8), Just(0x84), Just(0x00), any::<u8>()],
        prop_oneof![
            Just(0xE6u8),
            Just(0xE8),
            Just(0xE2),
            Just(0xE4),
            Just(0xF2),
            Just(0xF0),
            Just(0xD8),
            Just(0xCA),
            Just(0x50),
            Just(0x82)
        ],
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(cla, ins, p1, p2, data)| {
            CommandApdu::new(cla, ins, p1, p2)
                .with_data(data)
                .unwrap_or_else(|_| CommandApdu::new(cla, ins, p1, p2))
        })
}

fn arb_aid() -> impl Strategy<Value = Aid> {
    proptest::collection::vec(any::<u8>(), 5..=16)
        .prop_map(|b| Aid::new(b).unwrap_or_else(|_| unreachable!()))
}

proptest! {
    #[test]
    fn command_parsers_never_panic(cmd in arb_command()) {
        let _ = Install::parse(&cmd);
        let _ = LoadBlock::parse(&cmd);
        let _ = StoreData::parse(&cmd);
        let _ = Delete::parse(&cmd);
        let _ = GetStatus::parse(&cmd);
        let _ = SetStatus::parse(&cmd);
        let _ = PutKey::parse(&cmd);
        let _ = GetData::parse(&cmd);
    }

    #[test]
    fn response_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = InitializeUpdateResponse::parse(&data);
        let _ = Scp02InitializeUpdateResponse::parse(&data);
        let _ = RegistryEntry::parse_all(&data);
        let _ = KeyInformation::parse_template(&data);
        let _ = Cplc::parse(&data);
        let _ = Dgi::parse_all(&data);
    }

    /// A card in every state takes arbitrary APDUs without panicking.
    #[test]
    fn card_survives_arbitrary_commands(cmds in proptest::collection::vec(arb_command(), 1..8)) {
        let keys = StaticKeys::single(&[0x40; 16], 0x30);
        let config = Scp03CardConfig {
            options: Scp03Options::PSEUDO_RANDOM_R_MAC_R_ENC,
            key_diversification_data: [0; 10],
            aid: Aid::new(Aid::GP_ISD).unwrap_or_else(|_| unreachable!()),
        };
        let mut card = Scp03Card::new(keys.clone(), config, SequenceCounter::default());
        let mut host = Scp03Host::new(keys, SecurityLevel::FULL).unwrap_or_else(|_| unreachable!());
        if let Ok(iu) = host.initialize_update() {
            if let Ok(resp) = card.initialize_update(&iu) {
                if let Ok(ea) = host.on_initialize_update_response(&resp) {
                    let _ = card.external_authenticate(&ea);
                }
            }
        }
        for cmd in &cmds {
            let _ = card.unwrap_command(cmd);
            let _ = card.external_authenticate(cmd);
            let _ = card.initialize_update(cmd);
        }
    }

    #[test]
    fn dgis_round_trip(dgis in proptest::collection::vec(
        (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..600)), 0..5)
    ) {
        let dgis: Vec<Dgi> = dgis.into_iter().map(|(tag, data)| Dgi { tag, data }).collect();
        let encoded = Dgi::encode_all(&dgis).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(Dgi::parse_all(&encoded).ok(), Some(dgis));
    }

    #[test]
    fn registry_round_trip(aid in arb_aid(), elf in arb_aid(), life_cycle in any::<u8>(),
                           privileges in any::<[u8; 3]>()) {
        let mut entry = RegistryEntry::new(aid, life_cycle);
        entry.load_file_aid = Some(elf);
        entry.privileges = Some(super::Privileges::from_bytes(privileges));
        let encoded = RegistryEntry::encode_all(std::slice::from_ref(&entry))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(RegistryEntry::parse_all(&encoded).ok(), Some(vec![entry]));
    }
}
