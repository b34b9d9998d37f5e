-- The money path under at-least-once delivery and crashes.
--
-- Payments follow real providers: authorized at TakePayment, captured at ConfirmOrder, voided
-- (or refunded once captured) on failure and cancel. `payment_pending` is the provider call in
-- flight: it is committed before the call (the intent) and cleared with the outcome after it,
-- so a step re-run after a crash, a cancel or the reconciler repeats that call with the same
-- idempotency key and records what the provider did, instead of forgetting a charge.
ALTER TABLE orders DROP CONSTRAINT orders_payment_state_check;
ALTER TABLE orders
    ADD CONSTRAINT orders_payment_state_check
        CHECK (payment_state IN ('none', 'authorized', 'declined', 'captured', 'voided', 'refunded')),
    ADD COLUMN payment_pending TEXT
        CHECK (payment_pending IN ('authorize', 'capture', 'void', 'refund')),
    -- The Idempotency-Key of the checkout that created the order: a retried checkout finds
    -- its order here whatever happened to the key's record in the idempotency store.
    ADD COLUMN checkout_key TEXT CHECK (length(checkout_key) BETWEEN 1 AND 255);

CREATE UNIQUE INDEX orders_checkout_key_idx ON orders (user_id, checkout_key)
    WHERE checkout_key IS NOT NULL;

-- What the reconciler looks for: orders still PENDING, or ended with something left to give
-- back (a handful at any time, so the index stays small).
CREATE INDEX orders_unsettled_idx ON orders (created_at)
    WHERE status = 'PENDING'
       OR status IN ('FAILED', 'CANCELLED')
          AND (payment_pending IS NOT NULL
               OR payment_state IN ('authorized', 'captured')
               OR stock_state IN ('reserved', 'committed'));

-- The simulated payment provider's own ledger. It stands for the provider's books, outside the
-- orders' transactions: a provider call is written here on its own connection and commit, so
-- rolling an order back never rolls the provider back with it, and tests check the money
-- invariants against it. One row per idempotency key: a repeated call returns its first row.
CREATE TABLE payment_ledger (
    idempotency_key TEXT PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    operation TEXT NOT NULL CHECK (operation IN ('authorize', 'capture', 'void', 'refund')),
    -- The payment (authorization) the operation belongs to.
    reference TEXT NOT NULL CHECK (length(reference) <= 200),
    amount NUMERIC(12,2) NOT NULL CHECK (amount >= 0),
    -- `succeeded`, or why the provider refused (`card_declined`, `already_captured` …).
    outcome TEXT NOT NULL CHECK (length(outcome) <= 200),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX payment_ledger_reference_idx ON payment_ledger (reference);
