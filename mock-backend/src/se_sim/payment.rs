//! The payment application instance in the simulated SE (module `A000000333010100`).
//!
//! For now it is personalisable and reports its data: it collects the DGIs of its
//! personalisation until the last STORE DATA block, then reads them with
//! [`CardPersonalization::from_dgis`]. Selected, it answers with a minimal FCI and to GET DATA of
//! the electronic-cash values and the ATC. The contactless transaction (GPO, READ RECORD,
//! cryptograms) comes with the core's card application, behind the same [`Applet`] boundary.
//!
//! | command | personalised | not personalised |
//! |---|---|---|
//! | SELECT | `6F { 84 AID, A5 { 50 label, 87 01 01 } }` | `6F { 84 AID }` |
//! | GET DATA `9F79` / `9F77` / `9F78` | the n12 value, `6A88` without e-cash | `6985` |
//! | GET DATA `9F13` / `9F36` | `0000` (no transaction yet) | `6985` |
//! | GET DATA of another tag | `6A88` | `6985` |

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wallet_core::apdu::{Class, CommandApdu, ResponseApdu, SecureMessaging, Tag, TlvNode};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::perso::{
    amount_n12, TAG_ECASH_BALANCE, TAG_ECASH_BALANCE_LIMIT, TAG_ECASH_SINGLE_LIMIT,
};
use wallet_core::card::CardPersonalization;
use wallet_core::gp::commands::Dgi;
use wallet_core::gp::Aid;

use super::applet::{fci, Applet, AppletError};
use super::error::sw;

/// INS of GET DATA.
const INS_GET_DATA: u8 = 0xCA;
/// Last online ATC register.
const TAG_LAST_ONLINE_ATC: u16 = 0x9F13;
/// Application transaction counter.
const TAG_ATC: u16 = 0x9F36;

/// One DGI as persisted: tag and data in hex.
#[derive(Serialize, Deserialize)]
struct SavedDgi {
    tag: u16,
    data: String,
}

/// The persisted state of a payment applet.
#[derive(Serialize, Deserialize)]
struct SavedPayment {
    personalized: bool,
    dgis: Vec<SavedDgi>,
}

/// The payment application instance. `Debug` shows no card data.
#[derive(Default)]
pub struct PaymentApplet {
    /// DGIs received (all of them once personalised; kept to persist the applet).
    dgis: Vec<Dgi>,
    personalization: Option<CardPersonalization>,
}

impl std::fmt::Debug for PaymentApplet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentApplet")
            .field("dgis", &self.dgis.len())
            .field("personalized", &self.personalization.is_some())
            .finish()
    }
}

impl PaymentApplet {
    /// A new, not personalised instance.
    pub fn new() -> PaymentApplet {
        PaymentApplet::default()
    }

    /// Restores an instance from [`Applet::save`] output.
    pub fn restore(saved: &Value) -> Result<PaymentApplet, AppletError> {
        let state: SavedPayment =
            serde_json::from_value(saved.clone()).map_err(|e| AppletError::State(e.to_string()))?;
        let dgis = state
            .dgis
            .into_iter()
            .map(|d| {
                Ok(Dgi {
                    tag: d.tag,
                    data: hex::decode(d.data).map_err(|e| AppletError::State(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, AppletError>>()?;
        let personalization = if state.personalized {
            Some(
                CardPersonalization::from_dgis(&dgis)
                    .map_err(|e| AppletError::State(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(PaymentApplet {
            dgis,
            personalization,
        })
    }

    /// The personalisation, once complete.
    pub fn personalization(&self) -> Option<&CardPersonalization> {
        self.personalization.as_ref()
    }

    /// The electronic-cash balance in minor units, when personalised with e-cash.
    pub fn ecash_balance(&self) -> Option<u64> {
        self.personalization.as_ref()?.ecash.map(|e| e.balance)
    }

    fn get_data(&self, cmd: &CommandApdu) -> ResponseApdu {
        let Some(perso) = &self.personalization else {
            return ResponseApdu::status_only(sw::CONDITIONS);
        };
        let tag_value = u16::from_be_bytes([cmd.p1(), cmd.p2()]);
        let amount = |tag: Tag, pick: fn(&wallet_core::card::ECashParams) -> u64| {
            perso
                .ecash
                .as_ref()
                .and_then(|e| amount_n12(pick(e)).ok())
                .map(|value| TlvNode::primitive(tag, value))
        };
        let node = match tag_value {
            t if u32::from(t) == TAG_ECASH_BALANCE.value() => {
                amount(TAG_ECASH_BALANCE, |e| e.balance)
            }
            t if u32::from(t) == TAG_ECASH_BALANCE_LIMIT.value() => {
                amount(TAG_ECASH_BALANCE_LIMIT, |e| e.balance_limit)
            }
            t if u32::from(t) == TAG_ECASH_SINGLE_LIMIT.value() => {
                amount(TAG_ECASH_SINGLE_LIMIT, |e| e.single_transaction_limit)
            }
            TAG_LAST_ONLINE_ATC | TAG_ATC => Tag::new(u32::from(tag_value))
                .ok()
                .map(|tag| TlvNode::primitive(tag, vec![0x00, 0x00])),
            _ => None,
        };
        match node {
            Some(node) => ResponseApdu::success(node.encode()),
            None => ResponseApdu::status_only(sw::DATA_NOT_FOUND),
        }
    }
}

/// The application label (tag `50`) of an account kind.
fn label(kind: AccountKind) -> &'static [u8] {
    match kind {
        AccountKind::Debit => b"UnionPay Debit",
        AccountKind::Credit => b"UnionPay Credit",
        AccountKind::QuasiCredit => b"UnionPay QCredit",
        AccountKind::ECash => b"UnionPay E-Cash",
    }
}

impl Applet for PaymentApplet {
    fn select(&mut self, aid: &Aid) -> ResponseApdu {
        let proprietary = self.personalization.as_ref().map(|perso| {
            TlvNode::constructed(
                Tag::FCI_PROPRIETARY,
                [
                    TlvNode::primitive(Tag::APPLICATION_LABEL, label(perso.account_kind)),
                    TlvNode::primitive(Tag::APPLICATION_PRIORITY, vec![0x01]),
                ],
            )
        });
        ResponseApdu::success(fci(aid, proprietary))
    }

    fn process(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        match Class::new(cmd.cla()).decode() {
            Ok(info) if info.secure_messaging == SecureMessaging::None && !info.chaining => {}
            _ => return ResponseApdu::status_only(sw::CLA_NOT_SUPPORTED),
        }
        match cmd.ins() {
            INS_GET_DATA if cmd.data().is_empty() => self.get_data(cmd),
            INS_GET_DATA => ResponseApdu::status_only(sw::WRONG_LENGTH),
            _ => ResponseApdu::status_only(sw::INS_NOT_SUPPORTED),
        }
    }

    fn store_dgi(&mut self, dgi: Dgi) -> Result<(), AppletError> {
        if self.personalization.is_some() {
            return Err(AppletError::NotNow);
        }
        self.dgis.retain(|d| d.tag != dgi.tag);
        self.dgis.push(dgi);
        Ok(())
    }

    fn end_personalization(&mut self) -> Result<(), AppletError> {
        if self.personalization.is_some() {
            return Err(AppletError::NotNow);
        }
        match CardPersonalization::from_dgis(&self.dgis) {
            Ok(perso) => {
                self.personalization = Some(perso);
                Ok(())
            }
            Err(e) => {
                self.dgis.clear();
                Err(AppletError::Personalization(e.to_string()))
            }
        }
    }

    fn is_personalized(&self) -> bool {
        self.personalization.is_some()
    }

    fn save(&self) -> Value {
        let state = SavedPayment {
            personalized: self.personalization.is_some(),
            dgis: self
                .dgis
                .iter()
                .map(|d| SavedDgi {
                    tag: d.tag,
                    data: hex::encode_upper(&d.data),
                })
                .collect(),
        };
        serde_json::to_value(state).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::card::{CardCrypto, CardKeys, ECashParams};

    fn perso() -> CardPersonalization {
        CardPersonalization {
            account_kind: AccountKind::ECash,
            pan: "6212345678901234".into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: CardCrypto::Tdes,
            currency: 156,
            country: 156,
            keys: CardKeys {
                ac: [1; 16].into(),
                smi: [2; 16].into(),
                smc: [3; 16].into(),
            },
            ecash: Some(ECashParams {
                balance: 12_345,
                balance_limit: 100_000,
                single_transaction_limit: 50_000,
            }),
        }
    }

    fn get_data(applet: &mut PaymentApplet, tag: u16) -> String {
        let [p1, p2] = tag.to_be_bytes();
        let cmd = CommandApdu::new(0x80, 0xCA, p1, p2).with_short_le(0);
        hex::encode_upper(applet.process(&cmd).to_bytes())
    }

    #[test]
    fn personalised_applet_reports_its_data() {
        let aid = Aid::new(wallet_core::card::aids::E_CASH).unwrap();
        let mut applet = PaymentApplet::new();
        assert_eq!(
            hex::encode_upper(applet.select(&aid).to_bytes()),
            "6F0A8408A0000003330101069000"
        );
        assert_eq!(get_data(&mut applet, 0x9F79), "6985");
        for dgi in perso().to_dgis().unwrap() {
            applet.store_dgi(dgi).unwrap();
        }
        assert!(!applet.is_personalized());
        applet.end_personalization().unwrap();
        assert!(applet.is_personalized());
        // 6F 20 { 84 08 AID, A5 14 { 50 0F "UnionPay E-Cash", 87 01 01 } }
        let label = hex::encode_upper(b"UnionPay E-Cash");
        assert_eq!(
            hex::encode_upper(applet.select(&aid).to_bytes()),
            format!("6F208408A000000333010106A514500F{label}8701019000")
        );
        assert_eq!(get_data(&mut applet, 0x9F79), "9F79060000000123459000");
        assert_eq!(get_data(&mut applet, 0x9F77), "9F77060000001000009000");
        assert_eq!(get_data(&mut applet, 0x9F78), "9F78060000000500009000");
        assert_eq!(get_data(&mut applet, 0x9F36), "9F360200009000");
        assert_eq!(get_data(&mut applet, 0x9F13), "9F130200009000");
        assert_eq!(get_data(&mut applet, 0x5A00), "6A88");
        assert_eq!(applet.ecash_balance(), Some(12_345));
        assert_eq!(
            applet.store_dgi(perso().to_dgis().unwrap()[0].clone()),
            Err(AppletError::NotNow)
        );

        let mut restored = PaymentApplet::restore(&applet.save()).unwrap();
        assert_eq!(get_data(&mut restored, 0x9F79), "9F79060000000123459000");
        let cmd = CommandApdu::new(0x80, 0xA8, 0, 0);
        assert_eq!(restored.process(&cmd).sw, sw::INS_NOT_SUPPORTED);
    }

    #[test]
    fn account_without_ecash_and_incomplete_personalisation() {
        let mut no_ecash = perso();
        no_ecash.ecash = None;
        no_ecash.account_kind = AccountKind::Debit;
        let mut applet = PaymentApplet::new();
        for dgi in no_ecash.to_dgis().unwrap() {
            applet.store_dgi(dgi).unwrap();
        }
        applet.end_personalization().unwrap();
        assert_eq!(get_data(&mut applet, 0x9F79), "6A88");

        let mut incomplete = PaymentApplet::new();
        let first = perso().to_dgis().unwrap().remove(0);
        incomplete.store_dgi(first).unwrap();
        assert!(matches!(
            incomplete.end_personalization(),
            Err(AppletError::Personalization(_))
        ));
        assert!(!incomplete.is_personalized());
    }
}
