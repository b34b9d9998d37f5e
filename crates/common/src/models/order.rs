//! Orders: their lifecycle (`PENDING → CONFIRMED → SHIPPED → DELIVERED`, or `FAILED` /
//! `CANCELLED`), the prices frozen at checkout, their shipments and the saga's bookkeeping of
//! stock and payment.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Money;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where an order is.
    OrderStatus {
        Pending => "PENDING",
        Confirmed => "CONFIRMED",
        Shipped => "SHIPPED",
        Delivered => "DELIVERED",
        Failed => "FAILED",
        Cancelled => "CANCELLED",
    }
);

impl OrderStatus {
    /// A customer may cancel only before the order ships.
    pub fn can_cancel(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed | Self::Cancelled)
    }
}

text_enum!(
    /// Where a shipment is; the order's status follows it.
    ShipmentStatus {
        Pending => "PENDING",
        Shipped => "SHIPPED",
        Delivered => "DELIVERED",
    }
);

impl ShipmentStatus {
    /// The only moves: `PENDING → SHIPPED → DELIVERED`.
    pub fn can_become(self, next: ShipmentStatus) -> bool {
        matches!(
            (self, next),
            (Self::Pending, Self::Shipped) | (Self::Shipped, Self::Delivered)
        )
    }

    /// The order's status once its shipment is here.
    pub fn order_status(self) -> OrderStatus {
        match self {
            Self::Pending => OrderStatus::Confirmed,
            Self::Shipped => OrderStatus::Shipped,
            Self::Delivered => OrderStatus::Delivered,
        }
    }
}

text_enum!(
    /// The order's units: not yet held, held back (`reserved`), taken from stock at confirmation
    /// (`committed`), or given back (`released`).
    StockState {
        None => "none",
        Reserved => "reserved",
        Committed => "committed",
        Released => "released",
    }
);

text_enum!(
    /// Where the order's payment stands at the provider, as last recorded: `authorized` (the
    /// amount held on the card), `captured` (taken), `declined`, `voided` (the hold released),
    /// `refunded` (taken and given back).
    PaymentState {
        None => "none",
        Authorized => "authorized",
        Declined => "declined",
        Captured => "captured",
        Voided => "voided",
        Refunded => "refunded",
    }
);

text_enum!(
    /// A call to the payment provider. Each is made at most once per order, under the
    /// idempotency key [`PaymentOp::key`]; an order's `payment_pending` names the one in
    /// flight (committed before the call, cleared with its outcome).
    PaymentOp {
        Authorize => "authorize",
        Capture => "capture",
        Void => "void",
        Refund => "refund",
    }
);

impl PaymentOp {
    /// The provider's idempotency key of this call for `order_id`: a repeat (a redelivered
    /// step, a re-run after a crash, a retried cancel) gets the first call's outcome.
    pub fn key(self, order_id: i64) -> String {
        format!("order-{order_id}-{}", self.as_str())
    }
}

/// A line as bought: the product's SKU, name and price at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub shipment_id: i64,
    pub status: ShipmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: i64,
    pub user_id: i64,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub total: Money,
    pub currency: String,
    pub shipping_address: Option<String>,
    pub shipments: Vec<Shipment>,
    pub failure_reason: Option<String>,
    pub stock_state: StockState,
    pub payment_state: PaymentState,
    /// The provider call in flight (intent recorded, outcome not yet).
    pub payment_pending: Option<PaymentOp>,
    pub payment_reference: Option<String>,
    pub correlation_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An order as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub order_id: i64,
    pub status: OrderStatus,
    pub total: Money,
    pub currency: String,
    pub item_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of an order's history (`OrderEvents`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_allowed_moves_exist() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(*status));
        }
        assert!(OrderStatus::Pending.can_cancel() && OrderStatus::Confirmed.can_cancel());
        for status in [
            OrderStatus::Shipped,
            OrderStatus::Delivered,
            OrderStatus::Failed,
            OrderStatus::Cancelled,
        ] {
            assert!(!status.can_cancel(), "{status}");
        }
        assert!(ShipmentStatus::Pending.can_become(ShipmentStatus::Shipped));
        assert!(ShipmentStatus::Shipped.can_become(ShipmentStatus::Delivered));
        assert!(!ShipmentStatus::Pending.can_become(ShipmentStatus::Delivered));
        assert!(!ShipmentStatus::Delivered.can_become(ShipmentStatus::Shipped));
        assert_eq!(ShipmentStatus::parse("LOST"), None);
    }
}

/// A step of the checkout workflow, as the state machine sends it to the task queue.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutTask {
    /// One of the worker's steps (`reserve`, `charge` …).
    pub task: String,
    pub order_id: i64,
    /// The token to answer Step Functions with.
    pub task_token: String,
    #[serde(default)]
    pub correlation_id: Option<serde_json::Value>,
    /// The caught error (`{Error, Cause}`), for `compensate`.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

/// `order.confirmed`, as the order-events topic announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderConfirmed {
    pub order_id: i64,
    pub correlation_id: Option<String>,
}
