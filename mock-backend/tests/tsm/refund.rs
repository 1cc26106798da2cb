//! Deleting a card gives its electronic cash back: the TSM reads the balance from the card
//! before deleting it and, once the SE confirmed the deletion, the bank credits it to the
//! account — once per card, whatever the retries; a card whose balance cannot be read (locked)
//! is not deleted.

use super::payment::at_terminal;
use super::terminal::{tap, Txn};
use super::*;
use mock_backend::tsm::records::{CardRecord, CardState, EcashRefund};
use mock_backend::tsm::refund;
use wallet_core::ota::seram::{
    LocalAgentStatus, LocalAgentStatusEnum, RamCommand, RamResponse, RemoteManagementReport,
    SeRamResponse,
};

/// The TSM's record of the phone's card on the SE of `kind`.
fn tsm_card(h: &Harness, phone: &Phone, kind: ReaderKind, aid: &[u8]) -> TestResult<CardRecord> {
    let se_id = phone.target(kind)?.se_id;
    let card = h
        .world
        .state()
        .tsm()
        .records()
        .card(&se_id, &hex::encode_upper(aid))?;
    Ok(card.ok_or("the TSM has no such card")?)
}

/// Spends `amount` fen of e-cash offline at a terminal (the eSE's contactless interface).
fn spend_offline(phone: &Phone, amount: u64) {
    let purchase = Txn {
        amount,
        ecash_support: true,
    };
    let offline = at_terminal(phone, |se| tap(se, 0, purchase));
    assert_eq!(offline.cid(), 0x40, "an offline TC");
}

#[tokio::test]
async fn deleting_a_card_refunds_the_e_cash_it_still_holds() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let kind = ReaderKind::Ese;
    let before_load = bank_balance(&h, &test_cards::DEBIT)?;
    let (opened, _) = phone
        .perform(&h, CardOperation::Open, kind, Some(10_000))
        .await?;
    assert_eq!(opened.status, OrderState::Completed, "{opened:?}");
    spend_offline(&phone, 2_500);
    spend_offline(&phone, 500);
    assert_eq!(bank_balance(&h, &test_cards::DEBIT)?, before_load - 10_000);

    // Read (one batch), then read again and delete (another): one round trip more than a lock.
    let (deleted, round_trips) = phone.perform(&h, CardOperation::Delete, kind, None).await?;
    completed(&deleted, round_trips, 4);
    let card = card_of(&deleted)?;
    assert_eq!(
        (card.life_cycle, card.ecash_balance, card.ecash_refunded),
        (CardLifeCycle::Deleted, None, Some(7_000))
    );
    assert_eq!(
        phone.instances(kind, &aids::DEBIT),
        0,
        "the card's e-cash is gone"
    );
    // Back to before the load, minus what was spent offline.
    assert_eq!(bank_balance(&h, &test_cards::DEBIT)?, before_load - 3_000);
    let record = tsm_card(&h, &phone, kind, &aids::DEBIT)?;
    assert_eq!(
        (record.state, record.ecash_refund),
        (CardState::Absent, Some(EcashRefund::Credited(7_000)))
    );
    let credit = h
        .world
        .state()
        .bank()
        .credit_of(&refund::reference(&record))?
        .ok_or("no credit in the bank's ledger")?;
    assert_eq!(
        (credit.pan.as_str(), credit.amount),
        (test_cards::DEBIT.pan, 7_000)
    );

    // Ordering the deletion again: nothing left to delete, nothing credited.
    let again = phone.request(CardOperation::Delete, phone.target(kind)?, None, h.now())?;
    refused(&h, &again, 409, "CARD_NOT_FOUND").await?;
    assert_eq!(bank_balance(&h, &test_cards::DEBIT)?, before_load - 3_000);
    Ok(())
}

/// The C-APDUs of each `seRamCommand` of `order`.
fn batches(order: &RemoteManagementOrder) -> TestResult<Vec<Vec<Vec<u8>>>> {
    let mut lists = Vec::new();
    for command in &order.ram_commands {
        if let RamCommand::SeRam(command) = command {
            let list = command
                .list_of_capdu
                .iter()
                .map(hex::decode)
                .collect::<Result<Vec<_>, _>>()?;
            lists.push(list);
        }
    }
    Ok(lists)
}

/// Runs every C-APDU of `order` on the SE of `kind` (basic channel), as the local agent would;
/// the R-APDUs, per `seRamCommand`.
fn execute(
    phone: &Phone,
    kind: ReaderKind,
    order: &RemoteManagementOrder,
) -> TestResult<Vec<Vec<String>>> {
    let shared = phone.se.se(kind);
    let mut se = lock(&shared);
    let mut responses = Vec::new();
    for list in batches(order)? {
        responses.push(
            list.iter()
                .map(|capdu| hex::encode_upper(se.transmit(capdu)))
                .collect(),
        );
    }
    se.reset();
    Ok(responses)
}

#[tokio::test]
async fn a_deletion_whose_report_was_lost_is_refunded_once_by_the_next_order() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::DEBIT).await?;
    let kind = ReaderKind::Ese;
    let before_load = bank_balance(&h, &test_cards::DEBIT)?;
    phone
        .perform(&h, CardOperation::Open, kind, Some(4_000))
        .await?;
    spend_offline(&phone, 1_000);

    // A delete order whose phone runs both batches, then dies before reporting the second.
    let se = phone.target(kind)?;
    let first = phone.order(&h, CardOperation::Delete, kind, None).await?;
    let s = Some(first.session_id.as_str());
    let _: Value = ok_json(seram(&h, "handshake", s, handshake_body(&se)).await?).await?;
    let read: RemoteManagementOrder =
        ok_json(seram(&h, "remoteManagement", s, POLL).await?).await?;
    let rapdus = execute(&phone, kind, &read)?;
    let report = RemoteManagementReport {
        local_agent_status: LocalAgentStatus {
            local_agent_status_enum: LocalAgentStatusEnum::Processed,
            executed_se_ram_commands: Some(u32::try_from(rapdus.len())?),
            error_msg: None,
        },
        ram_responses: rapdus
            .into_iter()
            .map(|list_of_rapdu| RamResponse::SeRam(SeRamResponse { list_of_rapdu }))
            .collect(),
    };
    let delete: RemoteManagementOrder =
        ok_json(seram(&h, "remoteManagement", s, serde_json::to_string(&report)?).await?).await?;
    let record = tsm_card(&h, &phone, kind, &aids::DEBIT)?;
    assert_eq!(
        (record.state, record.ecash_refund),
        (CardState::Active, Some(EcashRefund::Due(3_000))),
        "the balance is recorded before anything is deleted"
    );
    execute(&phone, kind, &delete)?;
    assert_eq!(
        phone.instances(kind, &aids::DEBIT),
        0,
        "the SE deleted the card"
    );
    assert_eq!(
        bank_balance(&h, &test_cards::DEBIT)?,
        before_load - 4_000,
        "not refunded before the TSM hears of the deletion"
    );

    // The wallet orders the deletion again: the TSM finds the card gone and refunds what it read.
    let (deleted, _) = phone.perform(&h, CardOperation::Delete, kind, None).await?;
    assert_eq!(deleted.status, OrderState::Completed, "{deleted:?}");
    assert_eq!(card_of(&deleted)?.ecash_refunded, Some(3_000));
    assert_eq!(bank_balance(&h, &test_cards::DEBIT)?, before_load - 1_000);
    let superseded = order_status(&h, &first.order_id).await?;
    assert_eq!(
        superseded.failure.map(|f| f.code).as_deref(),
        Some(failures::SUPERSEDED)
    );
    // Crediting the card's refund again (a repeated settlement) changes nothing.
    let record = tsm_card(&h, &phone, kind, &aids::DEBIT)?;
    let bank = h.world.state().bank();
    let credit = bank.credit(test_cards::DEBIT.pan, 3_000, &refund::reference(&record))?;
    assert_eq!(credit.balance_after, before_load - 1_000);
    assert_eq!(bank_balance(&h, &test_cards::DEBIT)?, before_load - 1_000);
    Ok(())
}

#[tokio::test]
async fn a_locked_card_is_not_deleted_until_its_balance_can_be_read() -> TestResult {
    let h = world(Topology::Direct).await?;
    let phone = phone(&h, &test_cards::E_CASH).await?;
    // The microSD: interactive SCP02, every batch after an INITIALIZE UPDATE round trip.
    let kind = ReaderKind::Sd;
    let before_load = bank_balance(&h, &test_cards::E_CASH)?;
    phone
        .perform(&h, CardOperation::Open, kind, Some(2_500))
        .await?;
    let (locked, _) = phone.perform(&h, CardOperation::Lock, kind, None).await?;
    assert_eq!(card_of(&locked)?.life_cycle, CardLifeCycle::Locked);

    let (refused_delete, _) = phone.perform(&h, CardOperation::Delete, kind, None).await?;
    assert_eq!(refused_delete.status, OrderState::Failed);
    let failure = refused_delete.failure.ok_or("no failure")?;
    assert_eq!(failure.code, failures::ECASH_UNREADABLE);
    assert!(failure.message.contains("unlock"), "{}", failure.message);
    assert_eq!(phone.instances(kind, &aids::E_CASH), 1, "nothing deleted");
    assert_eq!(
        tsm_card(&h, &phone, kind, &aids::E_CASH)?.state,
        CardState::Locked
    );
    assert_eq!(bank_balance(&h, &test_cards::E_CASH)?, before_load - 2_500);

    phone.perform(&h, CardOperation::Unlock, kind, None).await?;
    let (deleted, round_trips) = phone.perform(&h, CardOperation::Delete, kind, None).await?;
    completed(&deleted, round_trips, 6);
    assert_eq!(card_of(&deleted)?.ecash_refunded, Some(2_500));
    assert_eq!(phone.instances(kind, &aids::E_CASH), 0);
    assert_eq!(bank_balance(&h, &test_cards::E_CASH)?, before_load);
    Ok(())
}
