//! The payment port and its simulated provider (the only payment adapter: the platform takes
//! no real payments). The simulation is deterministic so tests and demos can choose the
//! outcome: **an amount whose cents are 13 (e.g. `10.13`) is declined**; every other amount is
//! captured. Charges carry the order's key, so a retried charge never captures twice.

use async_trait::async_trait;

use super::RepoError;
use crate::models::Money;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    Captured { reference: String },
    Declined { reason: String },
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Charges `amount` once per `idempotency_key` (a repeat returns the first outcome).
    async fn charge(&self, idempotency_key: &str, amount: Money) -> Result<Charge, RepoError>;
    async fn refund(&self, reference: &str, amount: Money) -> Result<(), RepoError>;
}

/// The simulated provider.
#[derive(Debug, Default, Clone)]
pub struct SimulatedPayments;

impl SimulatedPayments {
    pub fn declines(amount: Money) -> bool {
        let cents =
            (amount.amount() * rust_decimal::Decimal::from(100)) % rust_decimal::Decimal::from(100);
        cents == rust_decimal::Decimal::from(13)
    }
}

#[async_trait]
impl PaymentProvider for SimulatedPayments {
    #[tracing::instrument(skip(self))]
    async fn charge(&self, idempotency_key: &str, amount: Money) -> Result<Charge, RepoError> {
        if Self::declines(amount) {
            return Ok(Charge::Declined {
                reason: "card_declined".into(),
            });
        }
        Ok(Charge::Captured {
            reference: format!("sim_{idempotency_key}"),
        })
    }

    #[tracing::instrument(skip(self))]
    async fn refund(&self, _reference: &str, _amount: Money) -> Result<(), RepoError> {
        Ok(())
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
}
