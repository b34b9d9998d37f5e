//! The cart service: the caller's cart as their `UserCart` item, priced with the catalogue's
//! current names, prices and stock on every read (one batched catalogue read for the whole
//! cart), never changed by a read. Every edit is a conditional write on the cart's version,
//! retried a bounded number of times, so concurrent edits never lose one another.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;

use crate::{
    error::{Error, FieldIssue},
    models::{
        Money,
        cart::{CartLine, MAX_LINES, MAX_QUANTITY, PricedCart, PricedLine, StoredCart},
        money::CURRENCY,
        principal::Principal,
        product::Product,
    },
    repositories::cart_dynamo::CartStore,
    services::{catalog::CatalogReader, users::UserService},
};

/// Conditional writes tried before an edit gives up with `409 CONFLICT`.
pub const ATTEMPTS: u32 = 30;

pub struct CartService {
    carts: Arc<dyn CartStore>,
    catalog: Arc<CatalogReader>,
    users: Arc<UserService>,
    /// Edits of one cart within this process take turns (striped by user), so concurrent
    /// requests to one instance queue instead of burning conditional-write retries; across
    /// instances the conditional write alone keeps every edit.
    turns: Vec<tokio::sync::Mutex<()>>,
}

const STRIPES: usize = 64;

/// `409 INSUFFICIENT_STOCK`, naming the product.
pub fn insufficient(product: &Product, wanted: u32) -> Error {
    Error::InsufficientStock(vec![FieldIssue::new(
        format!("product_id:{}", product.product_id),
        format!(
            "{wanted} wanted, {} available",
            product.stock_available.max(0)
        ),
    )])
}

impl CartService {
    pub fn new(
        carts: Arc<dyn CartStore>,
        catalog: Arc<CatalogReader>,
        users: Arc<UserService>,
    ) -> Self {
        Self {
            carts,
            catalog,
            users,
            turns: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// The caller's `users.user_id`, the key of their cart.
    async fn owner(&self, principal: &Principal) -> Result<i64, Error> {
        Ok(self.users.me(principal).await?.user_id)
    }

    /// The stored cart (for checkout).
    pub async fn stored(&self, user_id: i64) -> Result<StoredCart, Error> {
        Ok(self.carts.get(user_id).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get(&self, principal: &Principal) -> Result<PricedCart, Error> {
        let user_id = self.owner(principal).await?;
        let cart = self.carts.get(user_id).await?;
        self.price(&cart).await
    }

    /// Adds `quantity` units (the line's quantities add up).
    #[tracing::instrument(skip(self, principal))]
    pub async fn add(
        &self,
        principal: &Principal,
        product_id: i64,
        quantity: u32,
    ) -> Result<PricedCart, Error> {
        let user_id = self.owner(principal).await?;
        let product = self.catalog.get(product_id).await?;
        self.edit(user_id, |cart| {
            let existing = cart.line(product_id).map_or(0, |l| l.quantity);
            put_line(cart, &product, existing + quantity)
        })
        .await
    }

    /// Sets a line's quantity; 0 removes it.
    #[tracing::instrument(skip(self, principal))]
    pub async fn set(
        &self,
        principal: &Principal,
        product_id: i64,
        quantity: u32,
    ) -> Result<PricedCart, Error> {
        if quantity == 0 {
            return self.remove(principal, product_id).await;
        }
        let user_id = self.owner(principal).await?;
        let product = self.catalog.get(product_id).await?;
        self.edit(user_id, |cart| put_line(cart, &product, quantity))
            .await
    }

    /// Removes a line (a product deleted since can always be removed). Removing a line that is
    /// not there leaves the cart as it is.
    #[tracing::instrument(skip(self, principal))]
    pub async fn remove(
        &self,
        principal: &Principal,
        product_id: i64,
    ) -> Result<PricedCart, Error> {
        let user_id = self.owner(principal).await?;
        self.edit(user_id, |cart| {
            cart.lines.retain(|l| l.product_id != product_id);
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn clear(&self, principal: &Principal) -> Result<(), Error> {
        let user_id = self.owner(principal).await?;
        self.empty(user_id).await
    }

    /// Takes what a checkout bought (`(product_id, quantity)`) out of a user's cart: units
    /// added since the checkout stay, whether the saga empties the cart before or after.
    pub async fn remove_bought(
        &self,
        user_id: i64,
        order_id: i64,
        bought: &[(i64, u32)],
    ) -> Result<bool, Error> {
        let applied = std::sync::atomic::AtomicBool::new(false);
        self.edit(user_id, |cart| {
            if cart.settled_orders.contains(&order_id) {
                applied.store(false, std::sync::atomic::Ordering::Relaxed);
                return Ok(());
            }
            for line in &mut cart.lines {
                if let Some((_, quantity)) = bought.iter().find(|(id, _)| *id == line.product_id) {
                    line.quantity = line.quantity.saturating_sub(*quantity);
                }
            }
            cart.lines.retain(|l| l.quantity > 0);
            cart.settled_orders.push(order_id);
            let over = cart
                .settled_orders
                .len()
                .saturating_sub(StoredCart::SETTLED_KEPT);
            cart.settled_orders.drain(..over);
            applied.store(true, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
        .await?;
        Ok(applied.into_inner())
    }

    /// Empties a user's cart.
    pub async fn empty(&self, user_id: i64) -> Result<(), Error> {
        Ok(self.carts.clear(user_id).await?)
    }

    /// Read, change, write if nobody wrote meanwhile; else again (with a little jitter).
    async fn edit(
        &self,
        user_id: i64,
        change: impl Fn(&mut StoredCart) -> Result<(), Error>,
    ) -> Result<PricedCart, Error> {
        let _turn = self.turns[user_id.unsigned_abs() as usize % STRIPES]
            .lock()
            .await;
        for attempt in 0..ATTEMPTS {
            let mut cart = self.carts.get(user_id).await?;
            let before = (cart.lines.clone(), cart.settled_orders.last().copied());
            change(&mut cart)?;
            if cart.lines == before.0
                && cart.settled_orders.last().copied() == before.1
                && cart.version > 0
            {
                return self.price(&cart).await;
            }
            cart.updated_at = Utc::now();
            if self.carts.save(&cart).await? {
                cart.version += 1;
                return self.price(&cart).await;
            }
            let jitter = rand::random_range(1..=5 * (attempt as u64 + 1));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
        }
        Err(Error::Conflict(
            "the cart is being changed by another request; retry".into(),
        ))
    }

    /// The cart priced from the catalogue as it is now. A line whose product is gone shows the
    /// name and price it was added with, `available: 0`; a line with fewer units available than
    /// its quantity does not count in the subtotal.
    pub async fn price(&self, cart: &StoredCart) -> Result<PricedCart, Error> {
        let ids: Vec<i64> = cart.lines.iter().map(|l| l.product_id).collect();
        let products: HashMap<i64, Product> = self.catalog.get_many(&ids).await?;
        let mut subtotal = Money::ZERO;
        let items = cart
            .lines
            .iter()
            .map(|line| {
                let current = products.get(&line.product_id);
                let (name, unit_price, available) = match current {
                    Some(p) => (p.name.clone(), p.price, p.stock_available.max(0)),
                    None => (line.name.clone(), line.unit_price, 0),
                };
                let line_total = unit_price.times(line.quantity);
                if available >= i64::from(line.quantity) {
                    subtotal = subtotal + line_total;
                }
                PricedLine {
                    product_id: line.product_id,
                    name,
                    quantity: line.quantity,
                    unit_price,
                    line_total,
                    available,
                }
            })
            .collect();
        Ok(PricedCart {
            items,
            subtotal,
            currency: CURRENCY.to_owned(),
            updated_at: cart.updated_at,
        })
    }
}

/// Sets `product`'s line to `quantity`, within the cart's rules and the stock available.
fn put_line(cart: &mut StoredCart, product: &Product, quantity: u32) -> Result<(), Error> {
    if quantity > MAX_QUANTITY {
        return Err(Error::validation(
            "quantity",
            format!("at most {MAX_QUANTITY} per line (the line would hold {quantity})"),
        ));
    }
    if i64::from(quantity) > product.stock_available {
        return Err(insufficient(product, quantity));
    }
    let line = CartLine {
        product_id: product.product_id,
        quantity,
        name: product.name.clone(),
        unit_price: product.price,
    };
    let lines = cart.lines.len();
    match cart
        .lines
        .iter_mut()
        .find(|l| l.product_id == product.product_id)
    {
        Some(existing) => *existing = line,
        None if lines >= MAX_LINES => {
            return Err(Error::validation(
                "product_id",
                format!("a cart holds at most {MAX_LINES} lines"),
            ));
        }
        None => cart.lines.push(line),
    }
    Ok(())
}
