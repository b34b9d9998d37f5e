//! The payment port, shaped after real providers (Stripe's PaymentIntents): an amount is
//! **authorized** (held on the card) when the order is placed, **captured** when it is
//! confirmed, **voided** when the order fails or is cancelled before capture, and **refunded**
//! once captured. Every call carries an idempotency key ([`PaymentOp::key`]: `order-{id}-{op}`):
//! the provider answers a repeated key with the first call's outcome and never moves money
//! twice. That is what makes the saga's steps safe to run again after a crash.
//!
//! A refusal (a declined card, a void of a captured payment) is an answer, not an error:
//! [`PaymentOutcome::Refused`]. An error means the provider could not be asked or did not
//! answer; the caller retries with the same key.
//!
//! To write a real adapter (Stripe, Adyen …) implement [`PaymentProvider`]: `authorize` =
//! create a PaymentIntent with `capture_method=manual` and confirm it (the intent's id is the
//! reference); `capture`, `void` (cancel the intent) and `refund` map one to one; send the key
//! as the provider's `Idempotency-Key` header; map declines and state conflicts to `Refused`,
//! network failures, 5xx and 429 to [`RepoError::Unavailable`].
//!
//! [`SimulatedPayments`] is the platform's provider on one machine and in every environment
//! until a real one is wired: deterministic (**an amount whose cents are 13, e.g. `10.13`, is
//! declined**), with its own ledger in the `payment_ledger` table, written on a connection and
//! commit of its own — never inside an order's transaction — as a real provider's books are.

use async_trait::async_trait;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{RepoError, pg};
use crate::models::{Money, order::PaymentOp};

/// The provider's answer to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Done; `reference` is the payment's (authorization's) id at the provider.
    Succeeded { reference: String },
    /// Refused: `card_declined`, `already_captured`, `not_captured`, `voided` …
    Refused { reason: String },
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Holds `amount` on the customer's card.
    async fn authorize(&self, key: &str, amount: Money) -> Result<PaymentOutcome, RepoError>;
    /// Takes `amount` (at most what was authorized) of the authorization `reference`.
    async fn capture(
        &self,
        key: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentOutcome, RepoError>;
    /// Releases an authorization that was not captured.
    async fn void(&self, key: &str, reference: &str) -> Result<PaymentOutcome, RepoError>;
    /// Gives back `amount` of a captured payment.
    async fn refund(
        &self,
        key: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentOutcome, RepoError>;
}

/// Makes `op` for an order through any provider (the service's one entry to the port).
pub async fn perform(
    provider: &dyn PaymentProvider,
    op: PaymentOp,
    order_id: i64,
    reference: Option<&str>,
    amount: Money,
) -> Result<PaymentOutcome, RepoError> {
    let key = op.key(order_id);
    let reference = || {
        reference.ok_or_else(|| {
            RepoError::Other(format!("order {order_id}: {op} without an authorization").into())
        })
    };
    match op {
        PaymentOp::Authorize => provider.authorize(&key, amount).await,
        PaymentOp::Capture => provider.capture(&key, reference()?, amount).await,
        PaymentOp::Void => provider.void(&key, reference()?).await,
        PaymentOp::Refund => provider.refund(&key, reference()?, amount).await,
    }
}

/// The simulated provider, with its ledger in Postgres (see the module's doc).
#[derive(Debug, Clone)]
pub struct SimulatedPayments {
    pool: PgPool,
}

/// What the ledger knows of one authorization.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LedgerBalance {
    pub authorized: Decimal,
    pub captured: Decimal,
    pub refunded: Decimal,
    pub voided: bool,
}

const SUCCEEDED: &str = "succeeded";

impl SimulatedPayments {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn declines(amount: Money) -> bool {
        let cents = (amount.amount() * Decimal::from(100)) % Decimal::from(100);
        cents == Decimal::from(13)
    }

    /// The authorization's id: derived from its key, so it is the same on every repeat.
    fn reference_for(key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        format!("sim_pi_{}", &hex::encode(digest)[..24])
    }

    /// What the ledger holds for `reference` (succeeded operations only).
    pub async fn balance(&self, reference: &str) -> Result<LedgerBalance, RepoError> {
        let mut conn = self.pool.acquire().await.map_err(pg)?;
        balance(&mut conn, reference).await
    }

    /// One call: a repeated key returns its first outcome; otherwise `decide` looks at the
    /// authorization's balance (under a lock on it, so calls on one payment take turns) and
    /// the outcome is written in the same commit.
    async fn call(
        &self,
        key: &str,
        op: PaymentOp,
        reference: &str,
        amount: Money,
        decide: impl FnOnce(&LedgerBalance) -> Option<&'static str> + Send,
    ) -> Result<PaymentOutcome, RepoError> {
        let mut tx = self.pool.begin().await.map_err(pg)?;
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
            reference,
        )
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        let first = sqlx::query!(
            "SELECT reference, outcome FROM payment_ledger WHERE idempotency_key = $1",
            key,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(pg)?;
        let (reference, outcome) = match first {
            Some(first) => (first.reference, first.outcome),
            None => {
                let refusal = decide(&balance(&mut tx, reference).await?);
                let outcome = refusal.unwrap_or(SUCCEEDED).to_owned();
                sqlx::query!(
                    "INSERT INTO payment_ledger (idempotency_key, operation, reference, amount, outcome) \
                     VALUES ($1, $2, $3, $4, $5)",
                    key,
                    op.as_str(),
                    reference,
                    amount.amount(),
                    outcome,
                )
                .execute(&mut *tx)
                .await
                .map_err(pg)?;
                tx.commit().await.map_err(pg)?;
                (reference.to_owned(), outcome)
            }
        };
        Ok(if outcome == SUCCEEDED {
            PaymentOutcome::Succeeded { reference }
        } else {
            PaymentOutcome::Refused { reason: outcome }
        })
    }
}

async fn balance(
    conn: &mut sqlx::PgConnection,
    reference: &str,
) -> Result<LedgerBalance, RepoError> {
    let rows = sqlx::query!(
        "SELECT operation, amount FROM payment_ledger WHERE reference = $1 AND outcome = 'succeeded'",
        reference,
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(pg)?;
    let mut balance = LedgerBalance::default();
    for row in rows {
        let amount = row.amount;
        match PaymentOp::parse(&row.operation) {
            Some(PaymentOp::Authorize) => balance.authorized += amount,
            Some(PaymentOp::Capture) => balance.captured += amount,
            Some(PaymentOp::Refund) => balance.refunded += amount,
            Some(PaymentOp::Void) => balance.voided = true,
            None => {}
        }
    }
    Ok(balance)
}

#[async_trait]
impl PaymentProvider for SimulatedPayments {
    #[tracing::instrument(skip(self))]
    async fn authorize(&self, key: &str, amount: Money) -> Result<PaymentOutcome, RepoError> {
        let reference = Self::reference_for(key);
        self.call(key, PaymentOp::Authorize, &reference, amount, |_| {
            Self::declines(amount).then_some("card_declined")
        })
        .await
    }

    #[tracing::instrument(skip(self))]
    async fn capture(
        &self,
        key: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentOutcome, RepoError> {
        self.call(key, PaymentOp::Capture, reference, amount, |b| {
            if b.authorized.is_zero() {
                Some("not_authorized")
            } else if b.voided {
                Some("voided")
            } else if !b.captured.is_zero() {
                Some("already_captured")
            } else if amount.amount() > b.authorized {
                Some("amount_too_large")
            } else {
                None
            }
        })
        .await
    }

    #[tracing::instrument(skip(self))]
    async fn void(&self, key: &str, reference: &str) -> Result<PaymentOutcome, RepoError> {
        self.call(key, PaymentOp::Void, reference, Money::ZERO, |b| {
            if b.authorized.is_zero() {
                Some("not_authorized")
            } else if !b.captured.is_zero() {
                Some("already_captured")
            } else {
                None
            }
        })
        .await
    }

    #[tracing::instrument(skip(self))]
    async fn refund(
        &self,
        key: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentOutcome, RepoError> {
        self.call(key, PaymentOp::Refund, reference, amount, |b| {
            if b.captured.is_zero() {
                Some("not_captured")
            } else if b.refunded + amount.amount() > b.captured {
                Some("amount_too_large")
            } else {
                None
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_amounts_with_13_cents_are_declined() {
        let money = |s: &str| Money::from_decimal(s.parse().unwrap());
        assert!(SimulatedPayments::declines(money("10.13")));
        assert!(SimulatedPayments::declines(money("0.13")));
        for ok in ["10.00", "10.31", "13.00", "113.10"] {
            assert!(!SimulatedPayments::declines(money(ok)), "{ok}");
        }
    }

    #[test]
    fn an_authorization_keeps_its_reference_on_every_repeat() {
        let a = SimulatedPayments::reference_for("order-7-authorize");
        assert_eq!(a, SimulatedPayments::reference_for("order-7-authorize"));
        assert_ne!(a, SimulatedPayments::reference_for("order-8-authorize"));
    }
}
