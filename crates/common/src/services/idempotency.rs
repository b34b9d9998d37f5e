//! Idempotency-Key semantics, after the IETF httpapi draft and Stripe's API, without HTTP:
//! a key (scoped to its caller) is claimed by the first request; the outcome is kept for
//! `retention` and replayed to retries with the same fingerprint; another fingerprint is
//! `IdempotencyKeyReused`; a retry while the first still runs is `IdempotencyInProgress`.
//! A claim carries a lease, so the key of a request whose process died can be taken over.

use std::{sync::Arc, time::Duration};

use crate::{
    error::Error,
    models::idempotency::{Claim, RecordState, StoredResponse},
    repositories::idempotency_dynamo::IdempotencyStore,
};

/// What the caller must do with a keyed request.
#[derive(Debug)]
pub enum Decision {
    /// First time (or again after a 5xx): run it, then [`IdempotencyService::complete`] or
    /// [`IdempotencyService::reopen`].
    Run,
    /// Done before: answer with this.
    Replay(StoredResponse),
}

pub struct IdempotencyService {
    store: Arc<dyn IdempotencyStore>,
    /// How long a claim blocks retries before a crashed request's key can be taken over.
    pub lease: Duration,
    /// How long a completed response is replayed.
    pub retention: Duration,
}

impl IdempotencyService {
    pub fn new(store: Arc<dyn IdempotencyStore>) -> Self {
        Self {
            store,
            lease: Duration::from_secs(60),
            retention: Duration::from_secs(24 * 3600),
        }
    }

    fn scoped(subject: &str, key: &str) -> String {
        format!("{subject}#{key}")
    }

    #[tracing::instrument(skip_all)]
    pub async fn begin(
        &self,
        subject: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Decision, Error> {
        let scoped = Self::scoped(subject, key);
        match self
            .store
            .claim(&scoped, fingerprint, self.lease, self.retention)
            .await?
        {
            Claim::Acquired => Ok(Decision::Run),
            Claim::Existing { fingerprint: f, .. } if f != fingerprint => {
                Err(Error::IdempotencyKeyReused)
            }
            Claim::Existing {
                state: RecordState::InProgress,
                ..
            } => Err(Error::IdempotencyInProgress),
            Claim::Existing {
                state: RecordState::Completed(stored),
                ..
            } => Ok(Decision::Replay(stored)),
        }
    }

    /// Stores the outcome for replays. A failure here is logged: the work is done, and a retry
    /// after the lease may run it again, which the resource's own rules then refuse.
    pub async fn complete(&self, subject: &str, key: &str, response: &StoredResponse) {
        let scoped = Self::scoped(subject, key);
        if let Err(err) = self.store.complete(&scoped, response, self.retention).await {
            tracing::error!(error = %err, "could not store an idempotent response");
        }
    }

    /// After a 5xx: the handler may have committed part of its work, so the key is never
    /// given up — it stays bound to its request, which a retry runs again (the handler finds
    /// what it did: checkout answers the order its key created); another body is still
    /// refused.
    pub async fn reopen(&self, subject: &str, key: &str) {
        if let Err(err) = self.store.reopen(&Self::scoped(subject, key)).await {
            tracing::warn!(error = %err, "could not reopen an idempotency key after a failure");
        }
    }
}
