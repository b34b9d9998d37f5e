//! Idempotency records: what a first request with a key left for its retries.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordState {
    InProgress,
    Completed(StoredResponse),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key: run it, then `complete` or `reopen`.
    Acquired,
    /// Someone used the key before (with this fingerprint, or another one).
    Existing {
        fingerprint: String,
        state: RecordState,
    },
}
