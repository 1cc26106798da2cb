//! Wire types of the TSM's order API: the wallet asks the TSM to open, lock, unlock, delete or
//! query its card on one secure element, then runs the GP SERAM session the answer names (the
//! SERAM format itself lives in [`crate::ota::seram`]). Served by the mock backend's `tsm`
//! module; the topology behind the endpoint (direct, convergence, MTPS hub) never shows here
//! except in [`OrderStatus::route`].
//!
//! Endpoints:
//! - `POST {PATH_TSM_ORDERS}` [`CardOrderRequest`] (with an `Idempotency-Key`) →
//!   `200` [`OrderAccepted`]: the SERAM session to run, at
//!   `{ra_endpoint}/handshake?sessionId=…` and `{ra_endpoint}/remoteManagement?sessionId=…`.
//! - `GET {PATH_TSM_ORDERS}/{order_id}` → [`OrderStatus`]: `pending` while the session runs,
//!   then `completed` (with the card as the TSM knows it) or `failed` (with a reason).
//!
//! The request is signed by the binding's device key (ECDSA P-256 / SHA-256, ASN.1 DER, hex)
//! over [`order_signing_message`]; the TSM checks it against the key the bank registered,
//! accepts timestamps within ±[`ORDER_WINDOW_SECS`] of its clock and each nonce once per
//! binding. Errors are the usual [`super::ErrorBody`] with [`super::codes`] or [`codes`].

use serde::{Deserialize, Serialize};

use crate::ota::seram::{SeType, SecureElement};

/// Path of the order endpoint (`POST` to create, `GET …/{order_id}` to follow).
pub const PATH_TSM_ORDERS: &str = "/tsm/v1/orders";
/// Base path of the TSM's GP SERAM remote agent (the RA endpoint of every order).
pub const PATH_TSM_SERAM: &str = "/tsm/v1/seram";
/// Accepted distance between an order's timestamp and the TSM's clock, in seconds.
pub const ORDER_WINDOW_SECS: u64 = 300;

/// What the wallet asks the TSM to do with its card on one SE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardOperation {
    /// Air card opening: install and personalise the payment application for the binding's
    /// account, make it selectable, load the initial electronic cash.
    Open,
    /// Lock the card's application instance (SET STATUS).
    Lock,
    /// Unlock it (SET STATUS).
    Unlock,
    /// Delete the instance (DELETE).
    Delete,
    /// Read the instance's state and e-cash balance from the SE.
    Status,
}

impl CardOperation {
    /// The wire name (`open`, `lock`, `unlock`, `delete`, `status`), as signed.
    pub const fn as_str(self) -> &'static str {
        match self {
            CardOperation::Open => "open",
            CardOperation::Lock => "lock",
            CardOperation::Unlock => "unlock",
            CardOperation::Delete => "delete",
            CardOperation::Status => "status",
        }
    }
}

/// The secure element an order is for: the SERAM `seType` and `seId` the local agent will offer
/// in the handshake (the session must offer exactly this SE).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderSecureElement {
    /// SERAM `seType` (`eSE`, `uicc`, `undefined`…).
    pub se_type: SeType,
    /// SERAM `seId` (in the mock world: the hex of the SE's key diversification data).
    pub se_id: String,
}

impl OrderSecureElement {
    /// The SERAM name of [`Self::se_type`], as signed.
    pub fn se_type_name(&self) -> &'static str {
        se_type_name(self.se_type)
    }

    /// Whether a SERAM `secureElement` is this SE (same type, same id ignoring hex case).
    pub fn matches(&self, se: &SecureElement) -> bool {
        se.se_type == self.se_type && se.se_id.eq_ignore_ascii_case(&self.se_id)
    }

    /// This SE as a SERAM `secureElement` (e.g. for `chosenSecureElement`).
    pub fn to_seram(&self) -> SecureElement {
        SecureElement {
            se_type: self.se_type,
            se_id: self.se_id.clone(),
            se_extra_info: None,
        }
    }
}

impl From<&SecureElement> for OrderSecureElement {
    fn from(se: &SecureElement) -> OrderSecureElement {
        OrderSecureElement {
            se_type: se.se_type,
            se_id: se.se_id.clone(),
        }
    }
}

/// The SERAM spelling of an SE type.
pub const fn se_type_name(se_type: SeType) -> &'static str {
    match se_type {
        SeType::Ese => "eSE",
        SeType::Ise => "iSE",
        SeType::Uicc => "uicc",
        SeType::Euicc => "euicc",
        SeType::Ieuicc => "ieuicc",
        SeType::Undefined => "undefined",
    }
}

/// `POST /tsm/v1/orders`: one card operation, signed by the binding's device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardOrderRequest {
    /// The bank's binding (from [`super::BindingRecord::binding_id`]); must be active.
    pub binding_id: String,
    /// What to do.
    pub operation: CardOperation,
    /// On which SE.
    pub se: OrderSecureElement,
    /// Electronic cash to load at opening, in fen, debited from the bound account (only with
    /// [`CardOperation::Open`]; absent or 0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_ecash_load: Option<u64>,
    /// Unix time (seconds) of the request; the TSM accepts ±[`ORDER_WINDOW_SECS`].
    pub timestamp: u64,
    /// Random hex nonce, never accepted twice for a binding.
    pub nonce: String,
    /// ECDSA P-256 / SHA-256 signature (ASN.1 DER, hex) over [`CardOrderRequest::signing_message`].
    pub signature: String,
}

impl CardOrderRequest {
    /// The exact bytes the device signs for this request ([`order_signing_message`]).
    pub fn signing_message(&self) -> Vec<u8> {
        order_signing_message(
            &self.binding_id,
            self.operation,
            &self.se,
            self.initial_ecash_load,
            self.timestamp,
            &self.nonce,
        )
    }
}

/// The exact bytes a device signs to order `operation` on `se` for `binding_id`: UTF-8 lines
/// joined by `\n`:
///
/// ```text
/// openwallet/tsm-order/v1
/// {binding_id}
/// {operation}            open | lock | unlock | delete | status
/// {se_type}              SERAM spelling: eSE, uicc, undefined…
/// {se_id}                as sent
/// {initial_ecash_load}   decimal fen; 0 when absent
/// {timestamp}
/// {nonce}
/// ```
pub fn order_signing_message(
    binding_id: &str,
    operation: CardOperation,
    se: &OrderSecureElement,
    initial_ecash_load: Option<u64>,
    timestamp: u64,
    nonce: &str,
) -> Vec<u8> {
    format!(
        "openwallet/tsm-order/v1\n{binding_id}\n{}\n{}\n{}\n{}\n{timestamp}\n{nonce}",
        operation.as_str(),
        se.se_type_name(),
        se.se_id,
        initial_ecash_load.unwrap_or(0),
    )
    .into_bytes()
}

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Waiting for, or in, its SERAM session.
    Pending,
    /// Done: the SE answered as expected and the TSM's record is updated.
    Completed,
    /// Given up; see [`OrderStatus::failure`].
    Failed,
}

/// The answer to an accepted order: the SERAM session the local agent must run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAccepted {
    /// The TSM's identifier of the order.
    pub order_id: String,
    /// The operation ordered.
    pub operation: CardOperation,
    /// The SERAM `sessionId`.
    pub session_id: String,
    /// The RA endpoint, an absolute path on the TSM's host ([`PATH_TSM_SERAM`]).
    pub ra_endpoint: String,
    /// Always [`OrderState::Pending`] when accepted.
    pub status: OrderState,
}

/// Why an order failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFailure {
    /// Stable code, one of [`failures`].
    pub code: String,
    /// Human-readable explanation (English).
    pub message: String,
}

/// The life cycle of a card as the TSM knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardLifeCycle {
    /// Installed, personalised, selectable: usable.
    Active,
    /// Locked by the TSM: not selectable until unlocked.
    Locked,
    /// Deleted from the SE.
    Deleted,
}

/// A card (payment application instance on one SE) as the TSM knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsmCard {
    /// The instance AID, uppercase hex (e.g. `A000000333010101`).
    pub instance_aid: String,
    /// The card's PAN (a device PAN issued for this SE, never the account's) masked to first 6
    /// and last 4 digits.
    pub masked_pan: String,
    /// Active, locked or deleted.
    pub life_cycle: CardLifeCycle,
    /// Electronic cash balance in fen after the last operation that read or set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecash_balance: Option<u64>,
    /// Electronic cash in fen the issuer credited back to the account when the card was
    /// deleted (the balance the card held just before its deletion; `0` when it held none).
    /// Only on a deleted card, and absent from answers of older TSMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecash_refunded: Option<u64>,
}

/// How the back end is organised behind `/tsm/v1` (chosen when it starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// One TSM is both the application provider's TSM and the SE issuer's TSM.
    Direct,
    /// A financial TSM in front ("total-to-total") does the application part and connects
    /// to the SE issuer's TSM.
    Convergence,
    /// Application provider's TSM ↔ public service platform (MTPS) ↔ SE issuer's TSM.
    Mtps,
}

impl Topology {
    /// The wire name (`direct`, `convergence`, `mtps`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Topology::Direct => "direct",
            Topology::Convergence => "convergence",
            Topology::Mtps => "mtps",
        }
    }
}

/// A back-end entity an order went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TsmEntity {
    /// The single TSM of the direct topology.
    Tsm,
    /// The financial TSM of the convergence topology.
    FinancialTsm,
    /// The application provider's (bank's) TSM of the MTPS topology.
    ApplicationProviderTsm,
    /// The public service platform (MTPS hub).
    Mtps,
    /// The SE issuer's TSM (convergence, MTPS).
    SeIssuerTsm,
}

/// What an entity did for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TsmRole {
    /// Received the order and ran the SERAM session with the phone.
    Front,
    /// Built the application part: instance, personalisation, life cycle.
    ApplicationProvider,
    /// Looked the SE and the application up in its registry and routed between TSMs.
    Hub,
    /// Built the SE issuer part: ISD authentication, supplementary security domain creation.
    SeIssuer,
}

/// One step of an order's route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteHop {
    /// Who.
    pub entity: TsmEntity,
    /// Did what.
    pub role: TsmRole,
    /// The institution's TSM (or platform) identifier, when a registry named it (MTPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The route an order took behind `/tsm/v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRoute {
    /// The topology the back end runs.
    pub topology: Topology,
    /// The entities involved, in the order they acted.
    pub hops: Vec<RouteHop>,
}

/// `GET /tsm/v1/orders/{order_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatus {
    /// The order.
    pub order_id: String,
    /// The operation ordered.
    pub operation: CardOperation,
    /// Pending, completed or failed.
    pub status: OrderState,
    /// The SERAM session of the order.
    pub session_id: String,
    /// Why it failed (only when failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<OrderFailure>,
    /// The card as the TSM knows it (when completed; `life_cycle: deleted` after a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<TsmCard>,
    /// The route the order took.
    pub route: OrderRoute,
    /// HTTP requests the remote agent received in the order's session (handshake included).
    pub seram_requests: u32,
    /// Unix time (seconds) the order was accepted.
    pub created_at: u64,
    /// Unix time (seconds) of its last change.
    pub updated_at: u64,
}

/// Error codes of the order API (besides [`super::codes`]).
pub mod codes {
    /// Unknown order (404).
    pub const ORDER_NOT_FOUND: &str = "ORDER_NOT_FOUND";
    /// The SE is not one the TSM can manage (unknown `se_type`, malformed or unregistered
    /// `se_id`) (422).
    pub const UNKNOWN_SE: &str = "UNKNOWN_SE";
    /// Open: the SE already holds an active or locked card with this instance AID (409).
    pub const CARD_EXISTS: &str = "CARD_EXISTS";
    /// Lock, unlock, delete, status: the TSM knows no card of this binding on this SE (409).
    pub const CARD_NOT_FOUND: &str = "CARD_NOT_FOUND";
    /// The operation does not apply to the card's life cycle (unlock an active card…) (409).
    pub const INVALID_STATE: &str = "INVALID_STATE";
    /// The account cannot fund the initial electronic cash load, or the load exceeds the
    /// card's e-cash balance limit (422).
    pub const ECASH_LOAD_REFUSED: &str = "ECASH_LOAD_REFUSED";
    /// MTPS topology: the public service platform has no route for this order (application
    /// provider or application not registered) (422).
    pub const ROUTE_REFUSED: &str = "ROUTE_REFUSED";
    /// SERAM endpoints: unknown or finished `sessionId` (404, as gpseram.yaml says).
    pub const SERAM_SESSION_NOT_FOUND: &str = "SERAM_SESSION_NOT_FOUND";
    /// SERAM handshake: no acceptable transport, format, version or SE (406).
    pub const SERAM_NOT_ACCEPTABLE: &str = "SERAM_NOT_ACCEPTABLE";
}

/// Codes of [`OrderFailure::code`].
pub mod failures {
    /// A newer order for the same SE replaced this one before it finished.
    pub const SUPERSEDED: &str = "SUPERSEDED";
    /// The SE answered a command with an unexpected status word or a bad R-MAC.
    pub const SE_REJECTED: &str = "SE_REJECTED";
    /// The local agent reported an error (`UNAVAILABLE_SE`, `UNKNOWN_FAILURE`,
    /// `UNGRANTED_ACCESS`) or fewer R-APDUs than commands.
    pub const LOCAL_AGENT_FAILURE: &str = "LOCAL_AGENT_FAILURE";
    /// The SE's state contradicts the TSM's record (no instance to lock…).
    pub const CARD_STATE: &str = "CARD_STATE";
    /// A deletion was refused: the card's electronic cash balance could not be read (a locked
    /// card cannot be selected), so deleting it would lose that money. Nothing was deleted.
    pub const ECASH_UNREADABLE: &str = "ECASH_UNREADABLE";
    /// The session was abandoned (no request for 5 minutes).
    pub const SESSION_LOST: &str = "SESSION_LOST";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn se() -> OrderSecureElement {
        OrderSecureElement {
            se_type: SeType::Ese,
            se_id: "0102030405060708090A".into(),
        }
    }

    #[test]
    fn signing_message_is_the_documented_lines() {
        let message = order_signing_message(
            "b1",
            CardOperation::Open,
            &se(),
            Some(10_000),
            1_700_000_000,
            "ab12",
        );
        assert_eq!(
            String::from_utf8(message).unwrap(),
            "openwallet/tsm-order/v1\nb1\nopen\neSE\n0102030405060708090A\n10000\n1700000000\nab12"
        );
        let uicc = OrderSecureElement {
            se_type: SeType::Uicc,
            se_id: "X".into(),
        };
        let message = order_signing_message("b1", CardOperation::Lock, &uicc, None, 5, "n");
        assert_eq!(
            String::from_utf8(message).unwrap(),
            "openwallet/tsm-order/v1\nb1\nlock\nuicc\nX\n0\n5\nn"
        );
    }

    #[test]
    fn request_json_is_snake_case_with_seram_se_types() {
        let request = CardOrderRequest {
            binding_id: "b1".into(),
            operation: CardOperation::Open,
            se: se(),
            initial_ecash_load: Some(500),
            timestamp: 7,
            nonce: "00ff".into(),
            signature: "3045".into(),
        };
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(
            value,
            json!({
                "binding_id": "b1", "operation": "open",
                "se": {"se_type": "eSE", "se_id": "0102030405060708090A"},
                "initial_ecash_load": 500, "timestamp": 7, "nonce": "00ff", "signature": "3045"
            })
        );
        let mut without_load = value.clone();
        without_load
            .as_object_mut()
            .unwrap()
            .remove("initial_ecash_load");
        let parsed: CardOrderRequest = serde_json::from_value(without_load).unwrap();
        assert_eq!(parsed.initial_ecash_load, None);
        assert_eq!(
            parsed.signing_message(),
            order_signing_message("b1", CardOperation::Open, &se(), None, 7, "00ff")
        );
    }

    #[test]
    fn status_json_shape() {
        let status = OrderStatus {
            order_id: "o1".into(),
            operation: CardOperation::Open,
            status: OrderState::Completed,
            session_id: "s1".into(),
            failure: None,
            card: Some(TsmCard {
                instance_aid: "A000000333010101".into(),
                masked_pan: "621234******1234".into(),
                life_cycle: CardLifeCycle::Active,
                ecash_balance: Some(10_000),
                ecash_refunded: None,
            }),
            route: OrderRoute {
                topology: Topology::Mtps,
                hops: vec![
                    RouteHop {
                        entity: TsmEntity::Mtps,
                        role: TsmRole::Hub,
                        name: Some("mtps".into()),
                    },
                    RouteHop {
                        entity: TsmEntity::SeIssuerTsm,
                        role: TsmRole::SeIssuer,
                        name: None,
                    },
                ],
            },
            seram_requests: 3,
            created_at: 1,
            updated_at: 2,
        };
        let value = serde_json::to_value(&status).unwrap();
        assert_eq!(value["status"], "completed");
        assert_eq!(value["card"]["life_cycle"], "active");
        assert_eq!(
            value["route"],
            json!({"topology": "mtps", "hops": [
                {"entity": "mtps", "role": "hub", "name": "mtps"},
                {"entity": "se_issuer_tsm", "role": "se_issuer"}
            ]})
        );
        assert!(value.get("failure").is_none());
        let back: OrderStatus = serde_json::from_value(value).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn the_refund_of_a_deleted_card_is_optional_on_the_wire() {
        let deleted = TsmCard {
            instance_aid: "A000000333010106".into(),
            masked_pan: "621234******1234".into(),
            life_cycle: CardLifeCycle::Deleted,
            ecash_balance: None,
            ecash_refunded: Some(7_500),
        };
        let value = serde_json::to_value(&deleted).unwrap();
        assert_eq!(value["ecash_refunded"], 7_500);
        assert!(value.get("ecash_balance").is_none());
        assert_eq!(serde_json::from_value::<TsmCard>(value).unwrap(), deleted);
        // An older TSM's answer, without the field.
        let old: TsmCard = serde_json::from_value(json!({
            "instance_aid": "A000000333010106",
            "masked_pan": "621234******1234",
            "life_cycle": "deleted"
        }))
        .unwrap();
        assert_eq!(old.ecash_refunded, None);
        let active = TsmCard {
            life_cycle: CardLifeCycle::Active,
            ecash_refunded: None,
            ..deleted
        };
        assert!(serde_json::to_value(&active)
            .unwrap()
            .get("ecash_refunded")
            .is_none());
    }

    #[test]
    fn se_matching_ignores_hex_case_but_not_type() {
        let order_se = se();
        let offered = SecureElement {
            se_type: SeType::Ese,
            se_id: "0102030405060708090a".into(),
            se_extra_info: None,
        };
        assert!(order_se.matches(&offered));
        let sim = SecureElement {
            se_type: SeType::Uicc,
            ..offered.clone()
        };
        assert!(!order_se.matches(&sim));
        assert_eq!(
            OrderSecureElement::from(&offered).se_id,
            "0102030405060708090a"
        );
        assert_eq!(order_se.to_seram().se_type, SeType::Ese);
        assert_eq!(Topology::Convergence.as_str(), "convergence");
    }
}
