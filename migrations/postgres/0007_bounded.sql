-- The gate load and the reconciler read every line of one product (`order_lines.product_id`);
-- without an index that is a scan of every order line ever written.
CREATE INDEX order_lines_product_id_idx ON order_lines (product_id);
-- Pruning sent outbox rows and old processed-message ids (`Store::prune_messages`).
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX processed_messages_processed_at_idx ON processed_messages (processed_at);
