//! The checkout saga, in one place: the workflow `statemachines/checkout_workflow.asl.json`
//! runs in Step Functions; every step that needs Postgres arrives on the checkout task queue
//! and is done here.
//!
//! - [`ledger`]: every change to an order's stock and payment, recorded with its outbox entry
//!   and committed, then applied at once (commit-then-apply), so a crash at any instruction,
//!   a redelivered message or a second caller (a cancel, the reconciler) can neither lose nor
//!   repeat an effect.
//! - [`steps`]: the worker: `reserve`, `charge`, `confirm`, `empty_cart` and `compensate`;
//!   it answers Step Functions (`SendTaskSuccess` / `SendTaskFailure`) and heartbeats while it
//!   works.
//! - [`reconcile`]: the sweeper behind the workflow (orders left `PENDING`, or ended while
//!   still holding stock or money).
//!
//! The order is placed by [`crate::services::orders::OrderService::checkout`]; its
//! `order.placed` entry starts the execution ([`crate::services::outbox_relay`]); the
//! confirmed order goes on to [`crate::services::fulfillment`].
//!
//! Delivery is at least once and the worker may die at any instruction, so every step can run
//! again to completion from what is recorded (the order's stock and payment states, the
//! payment call in flight: [`OrderLedger`]), and a step that meets an order that has moved on
//! changes nothing. Retries belong to the workflow: a step that fails for a reason worth
//! retrying answers `SendTaskFailure` with [`RETRYABLE`], which the ASL's `Retry` handles with
//! backoff, as it does a heartbeat timeout (a worker that died). SQS redelivery only recovers
//! a message whose answer could not be sent; what it redelivers is harmless.

pub mod ledger;
pub mod reconcile;
pub mod steps;

use std::time::Duration;

pub use ledger::{OrderLedger, Unwind};
pub use reconcile::{Reconciled, Reconciler};
pub use steps::CheckoutWorker;

/// The task names the state machine sends; a test checks the ASL names no other.
pub const TASKS: [&str; 5] = ["reserve", "charge", "confirm", "empty_cart", "compensate"];

/// How often a busy worker tells Step Functions it is alive (the ASL's `HeartbeatSeconds`
/// must be at least three of these: a test reads both).
pub const HEARTBEAT: Duration = Duration::from_secs(3);

/// The error name of a step failure worth retrying; the ASL retries it with backoff.
pub const RETRYABLE: &str = "StepRetryable";

/// The error name of a step that met an order that has moved on (cancelled, failed …).
pub const MOVED_ON: &str = "OrderMovedOn";

/// How long an order may stay `PENDING` before the reconciler unwinds it: longer than the
/// longest run of the workflow (every step's attempts timing out, a test computes it from the
/// ASL), so it never races a live saga.
pub const RECONCILE_AFTER: Duration = Duration::from_secs(3600);

/// How long an ended order's leftovers (stock, a live payment, a call in flight) wait before
/// the reconciler finishes them.
pub const ENDED_GRACE: Duration = Duration::from_secs(60);
