-- The request that asked for an upload, so the processor's log lines name it: one id finds an
-- upload's request and its thumbnailing.
ALTER TABLE product_images ADD COLUMN correlation_id TEXT CHECK (length(correlation_id) <= 128);
