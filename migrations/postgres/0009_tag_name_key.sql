-- A tag plus a text on PostgreSQL walks the tag's index (as SQLite does since 0008): each tag
-- row carries its product's search key, and the tag indexes include it, so testing the text on
-- a tag's entries never reads a product (docs/catalog.md; `?tag=home&q=lamp` 93 ms → see
-- docs/BENCHMARKS.md). SQLite's product_tags has had `name_key` since 0008.
ALTER TABLE product_tags ADD COLUMN name_key TEXT;
UPDATE product_tags t SET name_key = p.name_key FROM products p WHERE p.id = t.product_id;

DROP INDEX product_tags_newest_idx;
DROP INDEX product_tags_best_idx;
DROP INDEX product_tags_price_idx;
CREATE INDEX product_tags_newest_idx ON product_tags (tag, created_at DESC, product_id DESC) INCLUDE (name_key) WHERE listed = 1;
CREATE INDEX product_tags_best_idx ON product_tags (tag, sold_count DESC, product_id DESC) INCLUDE (name_key) WHERE listed = 1;
CREATE INDEX product_tags_price_idx ON product_tags (tag, price, product_id) INCLUDE (name_key) WHERE listed = 1;

-- The copies: a new tag row takes its product's key, a renamed product (or one whose key
-- `Store::migrate` fills) passes it to its tag rows.
CREATE OR REPLACE FUNCTION product_tags_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT p.created_at, p.sold_count, p.price, CASE WHEN p.archived_at IS NULL THEN 1 ELSE 0 END, p.name_key
    INTO NEW.created_at, NEW.sold_count, NEW.price, NEW.listed, NEW.name_key
    FROM products p WHERE p.id = NEW.product_id;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION products_tag_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_tags SET created_at = NEW.created_at, sold_count = NEW.sold_count,
        price = NEW.price, listed = CASE WHEN NEW.archived_at IS NULL THEN 1 ELSE 0 END,
        name_key = NEW.name_key
    WHERE product_id = NEW.id;
    RETURN NULL;
END $$;
DROP TRIGGER products_tag_keys ON products;
CREATE TRIGGER products_tag_keys AFTER UPDATE OF created_at, sold_count, price, archived_at, name_key ON products
FOR EACH ROW
WHEN (ROW(OLD.created_at, OLD.sold_count, OLD.price, OLD.archived_at, OLD.name_key)
    IS DISTINCT FROM ROW(NEW.created_at, NEW.sold_count, NEW.price, NEW.archived_at, NEW.name_key))
EXECUTE FUNCTION products_tag_keys();
