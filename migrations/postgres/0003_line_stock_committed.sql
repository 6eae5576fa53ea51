-- 1 once the stock worker has moved this line's units into the database stock / sold count.
-- Until then the units are held only by the stock gate (and counted from the order lines
-- when the gate is reloaded).
ALTER TABLE order_lines ADD COLUMN stock_committed BIGINT NOT NULL DEFAULT 0;
