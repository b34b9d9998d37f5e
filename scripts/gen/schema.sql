CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE public.order_items (
    order_id bigint NOT NULL,
    product_id bigint NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(10,2) NOT NULL,
    line_total numeric(12,2) NOT NULL,
    CONSTRAINT order_items_check CHECK ((line_total = (unit_price * (quantity)::numeric))),
    CONSTRAINT order_items_quantity_check CHECK (((quantity >= 1) AND (quantity <= 99))),
    CONSTRAINT order_items_unit_price_check CHECK ((unit_price > (0)::numeric))
);

CREATE TABLE public.orders (
    order_id bigint NOT NULL,
    user_id bigint NOT NULL,
    status text DEFAULT 'PENDING'::text NOT NULL,
    total numeric(12,2) NOT NULL,
    currency character(3) DEFAULT 'USD'::bpchar NOT NULL,
    shipping_address text,
    failure_reason text,
    execution_arn text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    stock_state text DEFAULT 'none'::text NOT NULL,
    payment_state text DEFAULT 'none'::text NOT NULL,
    payment_reference text,
    correlation_id text,
    payment_pending text,
    checkout_key text,
    CONSTRAINT orders_checkout_key_check CHECK (((length(checkout_key) >= 1) AND (length(checkout_key) <= 255))),
    CONSTRAINT orders_correlation_id_check CHECK ((length(correlation_id) <= 128)),
    CONSTRAINT orders_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT orders_failure_reason_when_failed CHECK (((status <> 'FAILED'::text) OR (failure_reason IS NOT NULL))),
    CONSTRAINT orders_payment_pending_check CHECK ((payment_pending = ANY (ARRAY['authorize'::text, 'capture'::text, 'void'::text, 'refund'::text]))),
    CONSTRAINT orders_payment_reference_check CHECK ((length(payment_reference) <= 200)),
    CONSTRAINT orders_payment_state_check CHECK ((payment_state = ANY (ARRAY['none'::text, 'authorized'::text, 'declined'::text, 'captured'::text, 'voided'::text, 'refunded'::text]))),
    CONSTRAINT orders_shipping_address_check CHECK ((length(shipping_address) <= 1000)),
    CONSTRAINT orders_status_check CHECK ((status = ANY (ARRAY['PENDING'::text, 'CONFIRMED'::text, 'SHIPPED'::text, 'DELIVERED'::text, 'FAILED'::text, 'CANCELLED'::text]))),
    CONSTRAINT orders_stock_state_check CHECK ((stock_state = ANY (ARRAY['none'::text, 'reserved'::text, 'committed'::text, 'released'::text]))),
    CONSTRAINT orders_total_check CHECK ((total >= (0)::numeric))
);

ALTER TABLE public.orders ALTER COLUMN order_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.orders_order_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.outbox (
    outbox_id bigint NOT NULL,
    aggregate_type text NOT NULL,
    aggregate_id bigint NOT NULL,
    event_type text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    available_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT outbox_aggregate_type_check CHECK ((aggregate_type = ANY (ARRAY['product'::text, 'order'::text, 'user'::text])))
);

ALTER TABLE public.outbox ALTER COLUMN outbox_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.outbox_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.payment_ledger (
    idempotency_key text NOT NULL,
    operation text NOT NULL,
    reference text NOT NULL,
    amount numeric(12,2) NOT NULL,
    outcome text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payment_ledger_amount_check CHECK ((amount >= (0)::numeric)),
    CONSTRAINT payment_ledger_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 255))),
    CONSTRAINT payment_ledger_operation_check CHECK ((operation = ANY (ARRAY['authorize'::text, 'capture'::text, 'void'::text, 'refund'::text]))),
    CONSTRAINT payment_ledger_outcome_check CHECK ((length(outcome) <= 200)),
    CONSTRAINT payment_ledger_reference_check CHECK ((length(reference) <= 200))
);

CREATE TABLE public.product_images (
    image_id uuid NOT NULL,
    product_id bigint,
    user_id bigint,
    status text DEFAULT 'pending'::text NOT NULL,
    content_type text NOT NULL,
    content_length bigint NOT NULL,
    original_key text NOT NULL,
    thumbnail_url text,
    large_url text,
    failure_reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    correlation_id text,
    CONSTRAINT product_images_content_length_check CHECK (((content_length >= 1) AND (content_length <= 10485760))),
    CONSTRAINT product_images_content_type_check CHECK ((content_type = ANY (ARRAY['image/jpeg'::text, 'image/png'::text, 'image/webp'::text]))),
    CONSTRAINT product_images_correlation_id_check CHECK ((length(correlation_id) <= 128)),
    CONSTRAINT product_images_one_owner CHECK (((product_id IS NULL) <> (user_id IS NULL))),
    CONSTRAINT product_images_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processed'::text, 'failed'::text])))
);

CREATE TABLE public.product_inventory (
    product_id bigint NOT NULL,
    stock integer NOT NULL,
    reserved integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT product_inventory_reserved_check CHECK ((reserved >= 0)),
    CONSTRAINT product_inventory_reserved_le_stock CHECK ((reserved <= stock)),
    CONSTRAINT product_inventory_stock_check CHECK ((stock >= 0))
);

CREATE TABLE public.products (
    product_id bigint NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    price numeric(10,2) NOT NULL,
    currency character(3) DEFAULT 'USD'::bpchar NOT NULL,
    category text,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    thumbnail_url text,
    image_urls text[] DEFAULT '{}'::text[] NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT products_category_check CHECK (((length(category) >= 1) AND (length(category) <= 64))),
    CONSTRAINT products_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT products_description_check CHECK ((length(description) <= 5000)),
    CONSTRAINT products_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT products_price_check CHECK ((price > (0)::numeric)),
    CONSTRAINT products_sku_check CHECK ((sku ~ '^[A-Za-z0-9._-]{1,64}$'::text)),
    CONSTRAINT products_tags_check CHECK ((cardinality(tags) <= 20)),
    CONSTRAINT products_version_check CHECK ((version >= 1))
);

ALTER TABLE public.products ALTER COLUMN product_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.products_product_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.shipments (
    shipment_id bigint NOT NULL,
    order_id bigint NOT NULL,
    status text DEFAULT 'PENDING'::text NOT NULL,
    carrier text,
    tracking_number text,
    shipped_at timestamp with time zone,
    delivered_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT shipments_carrier_check CHECK ((length(carrier) <= 100)),
    CONSTRAINT shipments_status_check CHECK ((status = ANY (ARRAY['PENDING'::text, 'SHIPPED'::text, 'DELIVERED'::text]))),
    CONSTRAINT shipments_tracking_number_check CHECK ((length(tracking_number) <= 100))
);

ALTER TABLE public.shipments ALTER COLUMN shipment_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.shipments_shipment_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.users (
    user_id bigint NOT NULL,
    cognito_sub uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    address text,
    avatar_url text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_address_check CHECK ((length(address) <= 1000)),
    CONSTRAINT users_email_check CHECK ((((length(email) >= 3) AND (length(email) <= 254)) AND (POSITION(('@'::text) IN (email)) > 1))),
    CONSTRAINT users_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

ALTER TABLE public.users ALTER COLUMN user_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.users_user_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_pkey PRIMARY KEY (order_id, product_id);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (order_id);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (outbox_id);

ALTER TABLE ONLY public.payment_ledger
    ADD CONSTRAINT payment_ledger_pkey PRIMARY KEY (idempotency_key);

ALTER TABLE ONLY public.product_images
    ADD CONSTRAINT product_images_original_key_key UNIQUE (original_key);

ALTER TABLE ONLY public.product_images
    ADD CONSTRAINT product_images_pkey PRIMARY KEY (image_id);

ALTER TABLE ONLY public.product_inventory
    ADD CONSTRAINT product_inventory_pkey PRIMARY KEY (product_id);

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (product_id);

ALTER TABLE ONLY public.shipments
    ADD CONSTRAINT shipments_pkey PRIMARY KEY (shipment_id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_cognito_sub_key UNIQUE (cognito_sub);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (user_id);

CREATE INDEX order_items_product_idx ON public.order_items USING btree (product_id);

CREATE UNIQUE INDEX orders_checkout_key_idx ON public.orders USING btree (user_id, checkout_key) WHERE (checkout_key IS NOT NULL);

CREATE INDEX orders_unsettled_idx ON public.orders USING btree (created_at) WHERE ((status = 'PENDING'::text) OR ((status = ANY (ARRAY['FAILED'::text, 'CANCELLED'::text])) AND ((payment_pending IS NOT NULL) OR (payment_state = ANY (ARRAY['authorized'::text, 'captured'::text])) OR (stock_state = ANY (ARRAY['reserved'::text, 'committed'::text])))));

CREATE INDEX orders_user_idx ON public.orders USING btree (user_id, order_id DESC);

CREATE INDEX outbox_pending_idx ON public.outbox USING btree (available_at, outbox_id) WHERE (processed_at IS NULL);

CREATE INDEX payment_ledger_reference_idx ON public.payment_ledger USING btree (reference);

CREATE INDEX product_images_product_idx ON public.product_images USING btree (product_id, created_at) WHERE (product_id IS NOT NULL);

CREATE INDEX product_images_user_idx ON public.product_images USING btree (user_id, created_at) WHERE (user_id IS NOT NULL);

CREATE INDEX products_category_idx ON public.products USING btree (category, product_id) WHERE (deleted_at IS NULL);

CREATE INDEX products_live_idx ON public.products USING btree (product_id) WHERE (deleted_at IS NULL);

CREATE INDEX products_name_trgm_idx ON public.products USING gin (lower(name) public.gin_trgm_ops) WHERE (deleted_at IS NULL);

CREATE UNIQUE INDEX products_sku_key ON public.products USING btree (sku) WHERE (deleted_at IS NULL);

CREATE INDEX shipments_order_idx ON public.shipments USING btree (order_id);

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email));

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(order_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(product_id);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(user_id);

ALTER TABLE ONLY public.product_images
    ADD CONSTRAINT product_images_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(product_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.product_images
    ADD CONSTRAINT product_images_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(user_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.product_inventory
    ADD CONSTRAINT product_inventory_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(product_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.shipments
    ADD CONSTRAINT shipments_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(order_id) ON DELETE CASCADE;

