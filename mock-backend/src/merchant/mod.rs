//! The payment content platform: merchants create orders for remote (in-app) payment, the remote
//! payment system ([`crate::rps`]) pays them, and the platform tells the merchant the result.
//!
//! - **Merchants**: the acquirer's merchants ([`crate::acquirer::merchants::ALL`]:
//!   `898310058120001` 模拟便利店, `898310058120002` 模拟咖啡馆), so remote payments clear with
//!   the same acquiring institution as the POS ones.
//! - **Create** (`POST`, idempotency key honoured): merchant known (`MERCHANT_NOT_FOUND`, 404);
//!   amount 1 to [`MAX_ORDER_AMOUNT`] fen, currency three uppercase letters and one the platform
//!   settles ([`currency_numeric`]: `CNY` only — the mock bank's accounts are in fen), description
//!   1–[`MAX_DESCRIPTION_CHARS`] characters without control characters, expiry 1 to
//!   [`MAX_EXPIRY_SECS`] seconds (default [`DEFAULT_EXPIRY_SECS`]) — else `BAD_REQUEST`.
//! - **Status**: `pending` → `paid` exactly once ([`Platform::mark_paid`]), or `expired` once the
//!   mock world's clock is past `expires_at` unpaid. Expiry is computed from the clock; the first
//!   time the platform sees an order expired (a read or a payment attempt) it records the status
//!   and notifies the merchant.
//! - **Notifications**: every result (paid, expired) is appended to the merchant's list, served
//!   oldest first at `GET /merchant/v1/notifications?merchant_id=…`.

mod routes;

pub use routes::routes;

use crate::acquirer::merchants::{self, Merchant};
use crate::persist::{Store, StoreError, Table};
use crate::rps::RemoteError;
use std::sync::{Mutex, PoisonError};
use wallet_core::backend::api::remote::{
    CreateOrderRequest, MerchantNotification, Order, OrderStatus,
};
use wallet_core::crypto::random;

/// Seconds an order stays payable when the merchant does not say.
pub const DEFAULT_EXPIRY_SECS: u64 = 900;
/// Longest accepted order lifetime (one day).
pub const MAX_EXPIRY_SECS: u64 = 86_400;
/// Largest accepted amount, fen (100 million yuan).
pub const MAX_ORDER_AMOUNT: u64 = 10_000_000_000;
/// Longest accepted description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 128;

/// The ISO 4217 numeric code of a currency the platform settles (`CNY` → 156), if any.
pub fn currency_numeric(alphabetic: &str) -> Option<u16> {
    match alphabetic {
        "CNY" => Some(156),
        _ => None,
    }
}

/// The merchant with identifier `id`, if the platform knows it.
pub fn merchant(id: &str) -> Option<Merchant> {
    merchants::find(id)
}

/// The platform's orders and notifications.
#[derive(Debug)]
pub struct Platform {
    orders: Table<Order>,
    /// Keyed `{merchant_id}/{sequence:020}`.
    notifications: Table<MerchantNotification>,
    store: Store,
    /// Serialises status changes of orders.
    lock: Mutex<()>,
}

impl Platform {
    /// Opens the platform's state in `store`.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            orders: store.table("merchant.orders")?,
            notifications: store.table("merchant.notifications")?,
            store: store.clone(),
            lock: Mutex::new(()),
        })
    }

    /// Checks `request` (see the [module](self)) and creates a pending order.
    pub fn create(&self, request: &CreateOrderRequest, now: u64) -> Result<Order, RemoteError> {
        let merchant_id = request.merchant_id.trim();
        if merchant_id.is_empty() {
            return Err(RemoteError::BadRequest(
                "merchant_id must not be blank".into(),
            ));
        }
        if request.amount == 0 || request.amount > MAX_ORDER_AMOUNT {
            return Err(RemoteError::BadRequest(format!(
                "amount must be 1 to {MAX_ORDER_AMOUNT} minor units"
            )));
        }
        let currency = request.currency.as_str();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(RemoteError::BadRequest(
                "currency must be an ISO 4217 code of three uppercase letters".into(),
            ));
        }
        if currency_numeric(currency).is_none() {
            return Err(RemoteError::BadRequest(format!(
                "currency {currency} is not settled by this platform (CNY only)"
            )));
        }
        let description = request.description.trim();
        let chars = description.chars().count();
        if chars == 0 || chars > MAX_DESCRIPTION_CHARS {
            return Err(RemoteError::BadRequest(format!(
                "description must be 1 to {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        if description.chars().any(char::is_control) {
            return Err(RemoteError::BadRequest(
                "description must not contain control characters".into(),
            ));
        }
        let lifetime = request.expires_in_secs.unwrap_or(DEFAULT_EXPIRY_SECS);
        if lifetime == 0 || lifetime > MAX_EXPIRY_SECS {
            return Err(RemoteError::BadRequest(format!(
                "expires_in_secs must be 1 to {MAX_EXPIRY_SECS}"
            )));
        }
        let merchant = merchant(merchant_id)
            .ok_or_else(|| RemoteError::MerchantNotFound(merchant_id.to_owned()))?;
        let order = Order {
            order_id: format!("ord_{}", random::hex_id(12)?),
            merchant_id: merchant.id.to_owned(),
            merchant_name: merchant.name.to_owned(),
            amount: request.amount,
            currency: currency.to_owned(),
            description: description.to_owned(),
            created_at: now,
            expires_at: now.saturating_add(lifetime),
            status: OrderStatus::Pending,
            payment_id: None,
        };
        self.orders.put(&order.order_id, &order)?;
        tracing::info!(order_id = %order.order_id, merchant_id = %order.merchant_id, amount = order.amount, "order created");
        Ok(order)
    }

    /// The order `order_id` at time `now` (`ORDER_NOT_FOUND`); a pending order past its expiry
    /// is recorded as expired and the merchant notified.
    pub fn order(&self, order_id: &str, now: u64) -> Result<Order, RemoteError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut order = self
            .orders
            .get(order_id)?
            .ok_or(RemoteError::OrderNotFound)?;
        if order.status == OrderStatus::Pending && now > order.expires_at {
            order.status = OrderStatus::Expired;
            self.orders.put(order_id, &order)?;
            self.notify(&order, now)?;
            tracing::info!(%order_id, "order expired");
        }
        Ok(order)
    }

    /// Marks `order_id` paid by `payment_id` and notifies the merchant. Paying it again with the
    /// same payment answers the paid order; with another payment `ORDER_ALREADY_PAID`; an
    /// expired order `ORDER_EXPIRED`. The caller has checked expiry at its own `now`: a pending
    /// order is marked paid whatever the time, so an account already debited is never left
    /// without its order.
    pub fn mark_paid(
        &self,
        order_id: &str,
        payment_id: &str,
        now: u64,
    ) -> Result<Order, RemoteError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut order = self
            .orders
            .get(order_id)?
            .ok_or(RemoteError::OrderNotFound)?;
        match order.status {
            OrderStatus::Paid if order.payment_id.as_deref() == Some(payment_id) => Ok(order),
            OrderStatus::Paid => Err(RemoteError::OrderAlreadyPaid),
            OrderStatus::Expired => Err(RemoteError::OrderExpired),
            OrderStatus::Pending => {
                order.status = OrderStatus::Paid;
                order.payment_id = Some(payment_id.to_owned());
                self.orders.put(order_id, &order)?;
                self.notify(&order, now)?;
                tracing::info!(%order_id, %payment_id, "order paid");
                Ok(order)
            }
        }
    }

    /// The notifications of `merchant_id`, oldest first (`MERCHANT_NOT_FOUND` if unknown).
    pub fn notifications(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<MerchantNotification>, RemoteError> {
        if merchant(merchant_id).is_none() {
            return Err(RemoteError::MerchantNotFound(merchant_id.to_owned()));
        }
        Ok(self.notifications.scan_prefix(format!("{merchant_id}/"))?)
    }

    fn notify(&self, order: &Order, now: u64) -> Result<(), StoreError> {
        let notification = MerchantNotification {
            order_id: order.order_id.clone(),
            status: order.status,
            payment_id: order.payment_id.clone(),
            amount: order.amount,
            notified_at: now,
        };
        let key = format!("{}/{:020}", order.merchant_id, self.store.next_id()?);
        self.notifications.put(key, &notification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> CreateOrderRequest {
        CreateOrderRequest {
            merchant_id: merchants::CAFE.id.into(),
            amount: 1_800,
            currency: "CNY".into(),
            description: "拿铁 大杯".into(),
            expires_in_secs: None,
        }
    }

    fn platform() -> Result<Platform, StoreError> {
        Platform::open(&Store::open(None)?)
    }

    #[test]
    fn bad_orders_are_refused_with_clear_messages() -> Result<(), Box<dyn std::error::Error>> {
        let platform = platform()?;
        let cases: Vec<(CreateOrderRequest, &str)> = vec![
            (
                CreateOrderRequest {
                    amount: 0,
                    ..request()
                },
                "amount",
            ),
            (
                CreateOrderRequest {
                    currency: "cny".into(),
                    ..request()
                },
                "currency",
            ),
            (
                CreateOrderRequest {
                    currency: "CN".into(),
                    ..request()
                },
                "currency",
            ),
            (
                CreateOrderRequest {
                    currency: "USD".into(),
                    ..request()
                },
                "CNY only",
            ),
            (
                CreateOrderRequest {
                    description: " ".into(),
                    ..request()
                },
                "description",
            ),
            (
                CreateOrderRequest {
                    description: "x".repeat(129),
                    ..request()
                },
                "description",
            ),
            (
                CreateOrderRequest {
                    description: "a\nb".into(),
                    ..request()
                },
                "control",
            ),
            (
                CreateOrderRequest {
                    expires_in_secs: Some(0),
                    ..request()
                },
                "expires_in_secs",
            ),
            (
                CreateOrderRequest {
                    expires_in_secs: Some(86_401),
                    ..request()
                },
                "expires_in_secs",
            ),
            (
                CreateOrderRequest {
                    merchant_id: "".into(),
                    ..request()
                },
                "merchant_id",
            ),
        ];
        for (bad, needle) in cases {
            match platform.create(&bad, 1) {
                Err(RemoteError::BadRequest(message)) => {
                    assert!(message.contains(needle), "{message}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let unknown = CreateOrderRequest {
            merchant_id: "M0001".into(),
            ..request()
        };
        assert!(matches!(
            platform.create(&unknown, 1),
            Err(RemoteError::MerchantNotFound(_))
        ));
        let longest = CreateOrderRequest {
            description: "咖".repeat(128),
            ..request()
        };
        assert!(platform.create(&longest, 1).is_ok());
        Ok(())
    }

    #[test]
    fn pending_then_paid_once_or_expired() -> Result<(), Box<dyn std::error::Error>> {
        let platform = platform()?;
        let order = platform.create(&request(), 1_000)?;
        assert_eq!(
            (order.status, order.expires_at),
            (OrderStatus::Pending, 1_900)
        );
        assert!(order.order_id.starts_with("ord_"));
        assert_eq!(
            platform.order(&order.order_id, 1_900)?.status,
            OrderStatus::Pending
        );
        let paid = platform.mark_paid(&order.order_id, "pay_1", 1_900)?;
        assert_eq!(
            (paid.status, paid.payment_id.as_deref()),
            (OrderStatus::Paid, Some("pay_1"))
        );
        assert_eq!(platform.mark_paid(&order.order_id, "pay_1", 1_901)?, paid);
        assert!(matches!(
            platform.mark_paid(&order.order_id, "pay_2", 1_901),
            Err(RemoteError::OrderAlreadyPaid)
        ));
        assert_eq!(
            platform.order(&order.order_id, 99_999)?.status,
            OrderStatus::Paid
        );

        let late = platform.create(
            &CreateOrderRequest {
                expires_in_secs: Some(60),
                ..request()
            },
            1_000,
        )?;
        assert_eq!(
            platform.order(&late.order_id, 1_061)?.status,
            OrderStatus::Expired
        );
        assert!(matches!(
            platform.mark_paid(&late.order_id, "pay_3", 1_061),
            Err(RemoteError::OrderExpired)
        ));
        assert!(matches!(
            platform.order("ord_none", 1),
            Err(RemoteError::OrderNotFound)
        ));

        let told = platform.notifications(merchants::CAFE.id)?;
        let seen: Vec<(&str, OrderStatus)> = told
            .iter()
            .map(|n| (n.order_id.as_str(), n.status))
            .collect();
        assert_eq!(
            seen,
            [
                (order.order_id.as_str(), OrderStatus::Paid),
                (late.order_id.as_str(), OrderStatus::Expired)
            ]
        );
        assert!(platform
            .notifications(merchants::CONVENIENCE_STORE.id)?
            .is_empty());
        assert!(matches!(
            platform.notifications("nobody"),
            Err(RemoteError::MerchantNotFound(_))
        ));
        Ok(())
    }
}
