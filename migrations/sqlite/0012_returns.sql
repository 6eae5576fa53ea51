-- Returns after delivery (SHOP_RETURN_DAYS). When an order was delivered starts the window.
ALTER TABLE orders ADD COLUMN delivered_at BIGINT;
UPDATE orders SET delivered_at = updated_at WHERE status = 'DELIVERED';

-- One return per order: requested by the buyer, approved or refused by staff; an approved
-- return is refunded by the payment worker (refunded_at, once) and its units put back into the
-- product's regular stock by the stock worker (restocked_at, once). The order's lines stay as
-- they were: returned flash-sale units still count toward the sale's per-buyer limit.
CREATE TABLE returns (
    id           INTEGER PRIMARY KEY,
    order_id     BIGINT NOT NULL REFERENCES orders (id),
    user_id      BIGINT NOT NULL REFERENCES users (id),
    status       TEXT NOT NULL DEFAULT 'REQUESTED'
                 CHECK (status IN ('REQUESTED', 'APPROVED', 'REFUNDED', 'REFUSED')),
    reason       TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    staff_note   TEXT,
    decided_by   BIGINT REFERENCES users (id),
    requested_at BIGINT NOT NULL,
    decided_at   BIGINT,
    refunded_at  BIGINT,
    restocked_at BIGINT,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT returns_order_key UNIQUE (order_id)
);
CREATE INDEX returns_status_idx ON returns (status, requested_at);

CREATE TABLE return_lines (
    return_id     BIGINT NOT NULL REFERENCES returns (id) ON DELETE CASCADE,
    order_line_id BIGINT NOT NULL REFERENCES order_lines (id),
    quantity      BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (return_id, order_line_id)
);

-- What the simulated provider refunded (a return refunds part of a charge).
ALTER TABLE sim_charges ADD COLUMN refunded_amount BIGINT;
