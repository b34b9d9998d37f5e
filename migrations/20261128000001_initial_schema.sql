-- The relational source of truth. DynamoDB holds projections rebuilt from these tables.
-- Users are linked to Cognito by cognito_sub; Cognito holds the credentials (no password here).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    user_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cognito_sub  UUID        NOT NULL,
    email        TEXT        NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
    name         TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address      TEXT        CHECK (length(address) <= 1000),
    avatar_url   TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_cognito_sub_key UNIQUE (cognito_sub)
);
-- E-mail is unique case-insensitively.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE products (
    product_id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku            TEXT          NOT NULL CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
    name           TEXT          NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description    TEXT          NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price          NUMERIC(10,2) NOT NULL CHECK (price > 0),
    currency       CHAR(3)       NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    category       TEXT          CHECK (length(category) BETWEEN 1 AND 64),
    tags           TEXT[]        NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    thumbnail_url  TEXT,
    image_urls     TEXT[]        NOT NULL DEFAULT '{}',
    version        BIGINT        NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at     TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ   NOT NULL DEFAULT now(),
    -- Deleted products leave reads and carts but stay for the orders that reference them.
    deleted_at     TIMESTAMPTZ
);
-- A SKU is unique among live products (a deleted product's SKU may be reused).
CREATE UNIQUE INDEX products_sku_key ON products (sku) WHERE deleted_at IS NULL;
CREATE INDEX products_live_idx ON products (product_id) WHERE deleted_at IS NULL;
CREATE INDEX products_category_idx ON products (category, product_id) WHERE deleted_at IS NULL;
CREATE INDEX products_name_trgm_idx ON products USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL;

CREATE TABLE product_inventory (
    product_id  BIGINT      PRIMARY KEY REFERENCES products (product_id) ON DELETE CASCADE,
    stock       INTEGER     NOT NULL CHECK (stock >= 0),
    reserved    INTEGER     NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_inventory_reserved_le_stock CHECK (reserved <= stock)
);

CREATE TABLE product_images (
    image_id        UUID        PRIMARY KEY,
    product_id      BIGINT      REFERENCES products (product_id) ON DELETE CASCADE,
    user_id         BIGINT      REFERENCES users (user_id) ON DELETE CASCADE,
    status          TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'failed')),
    content_type    TEXT        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    content_length  BIGINT      NOT NULL CHECK (content_length BETWEEN 1 AND 10485760),
    original_key    TEXT        NOT NULL UNIQUE,
    thumbnail_url   TEXT,
    large_url       TEXT,
    failure_reason  TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- An image belongs to exactly one product or one user (an avatar).
    CONSTRAINT product_images_one_owner CHECK ((product_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX product_images_product_idx ON product_images (product_id, created_at) WHERE product_id IS NOT NULL;
CREATE INDEX product_images_user_idx ON product_images (user_id, created_at) WHERE user_id IS NOT NULL;

CREATE TABLE orders (
    order_id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           BIGINT        NOT NULL REFERENCES users (user_id),
    status            TEXT          NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'FAILED', 'CANCELLED')),
    total             NUMERIC(12,2) NOT NULL CHECK (total >= 0),
    currency          CHAR(3)       NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    shipping_address  TEXT          CHECK (length(shipping_address) <= 1000),
    failure_reason    TEXT,
    execution_arn     TEXT,
    created_at        TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT orders_failure_reason_when_failed CHECK (status <> 'FAILED' OR failure_reason IS NOT NULL)
);
-- A user's orders, newest first.
CREATE INDEX orders_user_idx ON orders (user_id, order_id DESC);

CREATE TABLE order_items (
    order_id    BIGINT        NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    product_id  BIGINT        NOT NULL REFERENCES products (product_id),
    sku         TEXT          NOT NULL,
    name        TEXT          NOT NULL,
    quantity    INTEGER       NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    unit_price  NUMERIC(10,2) NOT NULL CHECK (unit_price > 0),
    line_total  NUMERIC(12,2) NOT NULL CHECK (line_total = unit_price * quantity),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_product_idx ON order_items (product_id);

CREATE TABLE shipments (
    shipment_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         BIGINT      NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    status           TEXT        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SHIPPED', 'DELIVERED')),
    carrier          TEXT        CHECK (length(carrier) <= 100),
    tracking_number  TEXT        CHECK (length(tracking_number) <= 100),
    shipped_at       TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX shipments_order_idx ON shipments (order_id);

-- Transactional outbox: written in the same transaction as the change it announces, then
-- applied to the projections (DynamoDB, cache) by the relay, retried with backoff until done.
CREATE TABLE outbox (
    outbox_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aggregate_type  TEXT        NOT NULL CHECK (aggregate_type IN ('product', 'order', 'user')),
    aggregate_id    BIGINT      NOT NULL,
    event_type      TEXT        NOT NULL,
    payload         JSONB       NOT NULL DEFAULT '{}',
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT,
    available_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_pending_idx ON outbox (available_at, outbox_id) WHERE processed_at IS NULL;
