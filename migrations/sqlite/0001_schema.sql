-- The whole store's schema (SQLite dialect). Keep in step with ../postgres/0001_schema.sql:
-- same tables, columns, constraint names and meaning.
-- Conventions: ids are 64-bit integers; instants are Unix milliseconds (INTEGER);
-- money is integer minor units (cents); flags are 0/1 integers.

CREATE TABLE app_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,               -- stored lowercased
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,               -- argon2id PHC string
    name          TEXT NOT NULL,
    phone         TEXT,
    role          TEXT NOT NULL DEFAULT 'customer',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_role_check CHECK (role IN ('customer', 'admin'))
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    data        BLOB NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE addresses (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    receiver   TEXT NOT NULL,
    street     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    zip        TEXT NOT NULL,
    phone      TEXT,
    is_main    INTEGER NOT NULL DEFAULT 0 CHECK (is_main IN (0, 1)),
    created_at INTEGER NOT NULL
);
CREATE INDEX addresses_user_idx ON addresses (user_id);
CREATE UNIQUE INDEX addresses_one_main_key ON addresses (user_id) WHERE is_main = 1;

CREATE TABLE payment_methods (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'bank')),
    holder      TEXT NOT NULL,                 -- card holder or bank name + account holder
    last4       TEXT NOT NULL,                 -- shown as •••• 1234
    expiry      TEXT,                          -- MM/YY for cards
    secret      BLOB NOT NULL,                 -- AEAD nonce || ciphertext of the full number
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL
);
CREATE INDEX payment_methods_user_idx ON payment_methods (user_id);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price       INTEGER NOT NULL CONSTRAINT products_price_check CHECK (price >= 0),
    stock       INTEGER NOT NULL CONSTRAINT products_stock_check CHECK (stock >= 0),
    sold_count  INTEGER NOT NULL DEFAULT 0 CHECK (sold_count >= 0),
    archived_at INTEGER,                       -- archived products are hidden, never deleted
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX products_newest_idx ON products (created_at DESC, id DESC) WHERE archived_at IS NULL;
CREATE INDEX products_best_idx ON products (sold_count DESC, id DESC) WHERE archived_at IS NULL;
CREATE INDEX products_price_idx ON products (price, id) WHERE archived_at IS NULL;

-- Substring search on names: FTS5 with the trigram tokenizer answers `name LIKE '%text%'`
-- from an index instead of a table scan.
CREATE VIRTUAL TABLE products_fts USING fts5 (
    name, content = 'products', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF name ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
END;

CREATE TABLE product_tags (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,                  -- lowercase letters, digits, dashes
    PRIMARY KEY (product_id, tag)
);
CREATE INDEX product_tags_tag_idx ON product_tags (tag, product_id);

CREATE TABLE product_images (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    alt        TEXT NOT NULL DEFAULT '',
    position   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX product_images_product_idx ON product_images (product_id, position);

CREATE TABLE flash_sales (
    id              INTEGER PRIMARY KEY,
    product_id      INTEGER NOT NULL REFERENCES products (id),
    title           TEXT NOT NULL,
    sale_price      INTEGER NOT NULL CHECK (sale_price >= 0),
    quantity        INTEGER NOT NULL CONSTRAINT flash_sales_quantity_check CHECK (quantity > 0),
    sold            INTEGER NOT NULL DEFAULT 0,
    per_buyer_limit INTEGER NOT NULL CONSTRAINT flash_sales_limit_check CHECK (per_buyer_limit > 0),
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT flash_sales_window_check CHECK (ends_at > starts_at),
    CONSTRAINT flash_sales_sold_check CHECK (sold >= 0 AND sold <= quantity)
);
CREATE INDEX flash_sales_window_idx ON flash_sales (ends_at, starts_at);
CREATE INDEX flash_sales_product_idx ON flash_sales (product_id);

CREATE TABLE cart_items (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

CREATE TABLE wishlist_items (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

-- Orders never start as anything but PENDING; the saga moves them on.
CREATE TABLE orders (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id),
    status           TEXT NOT NULL DEFAULT 'PENDING',
    failure_reason   TEXT,
    total            INTEGER NOT NULL CHECK (total >= 0),
    idempotency_key  TEXT NOT NULL,
    sale_id          INTEGER REFERENCES flash_sales (id),
    ship_receiver    TEXT NOT NULL,
    ship_street      TEXT NOT NULL,
    ship_detail      TEXT NOT NULL DEFAULT '',
    ship_zip         TEXT NOT NULL,
    payment_method_id INTEGER REFERENCES payment_methods (id) ON DELETE SET NULL,
    payment_label    TEXT NOT NULL,             -- masked snapshot, e.g. "Visa •••• 4242"
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CONSTRAINT orders_idempotency_key UNIQUE (user_id, idempotency_key),
    CONSTRAINT orders_status_check CHECK (status IN
        ('PENDING', 'PAID', 'SHIPPING', 'DELIVERED', 'FAILED', 'CANCELLED'))
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC);
CREATE INDEX orders_status_idx ON orders (status, updated_at);

CREATE TABLE order_lines (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    sale_id     INTEGER REFERENCES flash_sales (id),
    name        TEXT NOT NULL,                  -- snapshot at purchase
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    status      TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'CANCELLED'))
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id);
CREATE INDEX order_lines_sale_idx ON order_lines (sale_id) WHERE sale_id IS NOT NULL;

CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders (id),
    status       TEXT NOT NULL DEFAULT 'PENDING'
                 CHECK (status IN ('PENDING', 'CAPTURED', 'DECLINED', 'REFUNDED')),
    amount       INTEGER NOT NULL,
    provider_ref TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT payments_order_key UNIQUE (order_id)
);

CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders (id),
    status       TEXT NOT NULL DEFAULT 'PENDING'
                 CHECK (status IN ('PENDING', 'REQUESTED', 'IN_TRANSIT', 'DELIVERED', 'FAILED', 'CANCELLED')),
    carrier_ref  TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT deliveries_order_key UNIQUE (order_id)
);

-- Every saga step and status change, for the order timeline and the admin.
CREATE TABLE order_events (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    payload    TEXT,                            -- JSON of the event that caused it
    at         INTEGER NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

-- Transactional outbox: written in the same transaction as the change it announces.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL,
    topic       TEXT NOT NULL,
    msg_key     TEXT NOT NULL,                  -- order id: keeps one order's events in order
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,                  -- JSON envelope
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    CONSTRAINT outbox_event_id_key UNIQUE (event_id)
);
CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;

-- Idempotent consumers: one row per (consumer, event), inserted with the consumer's effect.
CREATE TABLE processed_messages (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    topic       TEXT NOT NULL,
    msg_key     TEXT NOT NULL,
    payload     TEXT NOT NULL,
    error       TEXT NOT NULL,
    failed_at   INTEGER NOT NULL,
    replayed_at INTEGER
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    actor_id  INTEGER REFERENCES users (id),
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    at        INTEGER NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
