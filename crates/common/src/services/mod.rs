//! Business rules and workflows. Services know repository traits and domain types; they know no
//! HTTP, no SQL and no SDK types.

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod health;
pub mod idempotency;
pub mod images;
pub mod order_relay;
pub mod orders;
pub mod products;
pub mod projection;
pub mod queue;
pub mod users;
