-- The checkout saga's state per order: where its stock and its payment stand, so every step
-- of the workflow and every compensation is idempotent under redelivery and races with a
-- cancel. The correlation id ties the order to the request that placed it (logs, events).
ALTER TABLE orders
    ADD COLUMN stock_state TEXT NOT NULL DEFAULT 'none'
        CHECK (stock_state IN ('none', 'reserved', 'committed', 'released')),
    ADD COLUMN payment_state TEXT NOT NULL DEFAULT 'none'
        CHECK (payment_state IN ('none', 'captured', 'declined', 'refunded')),
    ADD COLUMN payment_reference TEXT CHECK (length(payment_reference) <= 200),
    ADD COLUMN correlation_id TEXT CHECK (length(correlation_id) <= 128);
