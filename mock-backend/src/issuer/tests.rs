//! The issuer against a vector computed outside this code base (Python `cryptography`,
//! TripleDES): card `6222021234567894` / PSN 01 of the test issuer, 3DES profile, ATC 1.
//!
//! MK-AC `5DF258731FC13E4040D5E03DA2A4760D` (option A, odd parity), SK-AC of ATC 1
//! `F101D019620883087C5E26165B4CCDEF`, ARQC (MAC algorithm 3, padding 2) over
//! `000000012345 000000000000 0156 0000000000 0156 250314 00 DEADBEEF 2400 0001 03A00000` =
//! `C54FA9D6E69A5E1B`; ARPC method 1 with ARC `00` `DE384216A650FA1C`, `94`
//! `3A58897C632EDA87`.

use super::*;
use crate::bank::test_cards::DEBIT;

fn vector() -> IccTransaction {
    IccTransaction {
        pan: DEBIT.pan.into(),
        pan_sequence: 1,
        aid: "A000000333010101".into(),
        amount_authorised: 12_345,
        amount_other: 0,
        terminal_country: 156,
        currency: 156,
        transaction_date: "250314".into(),
        transaction_type: "00".into(),
        tvr: "0000000000".into(),
        unpredictable_number: "DEADBEEF".into(),
        ttq: "26000080".into(),
        aip: "2400".into(),
        atc: 1,
        iad: "07010103A0000001".into(),
        cryptogram: "C54FA9D6E69A5E1B".into(),
        cid: "80".into(),
        ctq: None,
    }
}

#[test]
fn authorises_the_outside_vector_once() -> Result<(), Box<dyn std::error::Error>> {
    let world = AppState::open(None)?;
    let issuer = world.issuer();
    let mut tampered = vector();
    tampered.cryptogram = "C54FA9D6E69A5E1A".into();
    let refused = issuer.authorize(&world, &tampered, "auth-0", 1)?;
    assert_eq!(refused.response_code, ResponseCode::CryptogramFailure);
    assert_eq!(refused.arpc, None);

    let approved = issuer.authorize(&world, &vector(), "auth-1", 2)?;
    assert_eq!(
        approved.response_code,
        ResponseCode::Approved,
        "{}",
        approved.message
    );
    assert_eq!(
        approved.arpc.map(hex::encode_upper).as_deref(),
        Some("DE384216A650FA1C")
    );
    assert_eq!(
        approved.issuer,
        Some(Institution {
            id: "622202".into(),
            name: DEBIT.issuer_name.into()
        })
    );
    assert_eq!(approved.masked_pan, "622202******7894");
    let balance = world.bank().account(DEBIT.pan)?.map(|a| a.balance_fen);
    assert_eq!(balance, Some(DEBIT.balance_fen - 12_345));

    let replayed = issuer.authorize(&world, &vector(), "auth-2", 3)?;
    assert_eq!(replayed.response_code, ResponseCode::Duplicate);
    assert_eq!(
        replayed.arpc.map(hex::encode_upper).as_deref(),
        Some("3A58897C632EDA87")
    );
    let balance = world.bank().account(DEBIT.pan)?.map(|a| a.balance_fen);
    assert_eq!(balance, Some(DEBIT.balance_fen - 12_345), "debited once");
    assert_eq!(
        issuer.decision("auth-2")?.map(|d| d.response_code),
        Some("94".to_owned())
    );
    assert_eq!(issuer.card_state(DEBIT.pan, 1)?.last_online_atc, Some(1));

    // The same TC-less data as an offline advice: not a TC.
    let advice = issuer.offline_advice(&world, &vector(), "adv-1", 4)?;
    assert_eq!(advice.response_code, ResponseCode::InvalidTransaction);
    Ok(())
}

#[test]
fn checks_before_the_cryptogram() -> Result<(), Box<dyn std::error::Error>> {
    let world = AppState::open(None)?;
    let issuer = world.issuer();
    let mut unknown = vector();
    unknown.pan = crate::bank::test_cards::UNKNOWN_PAN.into();
    let answer = issuer.authorize(&world, &unknown, "a", 1)?;
    assert_eq!(
        (answer.response_code, answer.issuer),
        (ResponseCode::InvalidCardNumber, None)
    );
    let mut blocked = vector();
    blocked.pan = crate::bank::test_cards::BLOCKED.pan.into();
    assert_eq!(
        issuer.authorize(&world, &blocked, "b", 1)?.response_code,
        ResponseCode::RestrictedCard
    );
    let mut tc = vector();
    tc.cid = "40".into();
    assert_eq!(
        issuer.authorize(&world, &tc, "c", 1)?.response_code,
        ResponseCode::InvalidTransaction
    );
    let mut odd_iad = vector();
    odd_iad.iad = "0701010300000002".into();
    assert_eq!(
        issuer.authorize(&world, &odd_iad, "d", 1)?.response_code,
        ResponseCode::FormatError
    );
    // Nothing above used the card's ATC 1.
    assert_eq!(
        issuer.card_state(DEBIT.pan, 1)?,
        cards::CardState::default()
    );
    assert_eq!(
        issuer.authorize(&world, &vector(), "e", 1)?.response_code,
        ResponseCode::Approved
    );
    Ok(())
}
