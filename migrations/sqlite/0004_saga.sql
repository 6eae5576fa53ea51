-- The saga's position for each order (finer than status), when it got there, and how often
-- the reconciler has re-driven it.
ALTER TABLE orders ADD COLUMN saga_step TEXT NOT NULL DEFAULT 'PLACED';
ALTER TABLE orders ADD COLUMN step_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN redrives BIGINT NOT NULL DEFAULT 0;
CREATE INDEX orders_saga_step_idx ON orders (saga_step, step_since);

-- When the parcel was handed to the carrier (the carrier's clock starts then).
ALTER TABLE deliveries ADD COLUMN dispatched_at BIGINT;

-- The relay takes, per message key, only the oldest unsent row.
CREATE INDEX outbox_unsent_key_idx ON outbox (msg_key, id) WHERE sent_at IS NULL;

-- The simulated payment provider's own ledger (what a test gateway's dashboard would show):
-- one row per charge key, so a charge asked twice is made once.
CREATE TABLE sim_charges (
    charge_key  TEXT PRIMARY KEY,
    order_id    BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    refunded_at BIGINT,
    created_at  BIGINT NOT NULL
);
