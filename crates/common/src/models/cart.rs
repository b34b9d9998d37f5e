//! The cart: the caller's lines (product and quantity), kept as their `UserCart` item. Each line
//! remembers the name and price it was added with, so a product deleted later still shows what
//! it was; the price a cart shows is always the catalogue's current one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Money;

/// Units of one product per line.
pub const MAX_QUANTITY: u32 = 99;
/// Lines per cart.
pub const MAX_LINES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: i64,
    pub quantity: u32,
    /// The product's name when the line was last changed.
    pub name: String,
    /// The product's price when the line was last changed.
    pub unit_price: Money,
}

/// A cart as stored: its lines in the order they were added, and the version its conditional
/// writes check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCart {
    pub user_id: i64,
    pub lines: Vec<CartLine>,
    /// 0 for a cart never written.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    /// The latest orders whose bought lines were taken out of this cart (at most
    /// [`StoredCart::SETTLED_KEPT`]): a redelivered `empty_cart` step finds its order here and
    /// takes nothing out a second time.
    pub settled_orders: Vec<i64>,
}

impl StoredCart {
    /// How many settled orders a cart remembers: far more than a customer's checkouts in
    /// flight at once.
    pub const SETTLED_KEPT: usize = 50;

    pub fn empty(user_id: i64) -> Self {
        Self {
            user_id,
            lines: Vec::new(),
            version: 0,
            updated_at: Utc::now(),
            settled_orders: Vec::new(),
        }
    }

    pub fn line(&self, product_id: i64) -> Option<&CartLine> {
        self.lines.iter().find(|l| l.product_id == product_id)
    }
}

/// One line as the caller sees it: current name and price, and whether it can be bought now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub product_id: i64,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
    /// Units of the product available now (0 once it is deleted).
    pub available: i64,
}

/// The cart as the caller sees it. `subtotal` sums the lines that are available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    pub items: Vec<PricedLine>,
    pub subtotal: Money,
    pub currency: String,
    pub updated_at: DateTime<Utc>,
}
