-- A catalog of a million products (docs/catalog.md explains every choice with its plan).

-- 1. Folded names. `name_key` is `shop_domain::search::search_key(name)`: lowercase, accents
--    removed, punctuation turned into single spaces. The store writes it with the name; rows
--    from before this migration are filled by `Store::migrate` (NULL until then).
ALTER TABLE products ADD COLUMN name_key TEXT;
CREATE INDEX products_name_key_idx ON products (name_key) WHERE archived_at IS NULL;
-- Sort keys by id: sorting thousands of text matches reads this small index instead of every
-- matching row (2.5x faster at 25,000 matches; docs/catalog.md).
CREATE INDEX products_keys_idx ON products (id, archived_at, created_at, sold_count, price, name_key);
-- The sort indexes carry the key, so walking one for a common word tests the index entry
-- and never reads the row (4x fewer pages).
DROP INDEX products_newest_idx;
DROP INDEX products_best_idx;
DROP INDEX products_price_idx;
CREATE INDEX products_newest_idx ON products (created_at DESC, id DESC, name_key) WHERE archived_at IS NULL;
CREATE INDEX products_best_idx ON products (sold_count DESC, id DESC, name_key) WHERE archived_at IS NULL;
CREATE INDEX products_price_idx ON products (price, id, name_key) WHERE archived_at IS NULL;

-- Search indexes read the key, not the raw name, so "creme" finds "Crème" on SQLite as on
-- PostgreSQL: a trigram index for 3+ characters, a word index with 1- and 2-character
-- prefixes for shorter texts.
DROP TRIGGER products_fts_insert;
DROP TRIGGER products_fts_delete;
DROP TRIGGER products_fts_update;
DROP TABLE products_fts;
CREATE VIRTUAL TABLE products_fts USING fts5 (
    name_key, content = 'products', content_rowid = 'id', tokenize = 'trigram'
);
CREATE VIRTUAL TABLE products_words USING fts5 (
    name_key, content = 'products', content_rowid = 'id', tokenize = 'unicode61', prefix = '1 2'
);
CREATE TRIGGER products_search_insert AFTER INSERT ON products WHEN new.name_key IS NOT NULL BEGIN
    INSERT INTO products_fts (rowid, name_key) VALUES (new.id, new.name_key);
    INSERT INTO products_words (rowid, name_key) VALUES (new.id, new.name_key);
END;
CREATE TRIGGER products_search_delete AFTER DELETE ON products WHEN old.name_key IS NOT NULL BEGIN
    INSERT INTO products_fts (products_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key);
    INSERT INTO products_words (products_words, rowid, name_key) VALUES ('delete', old.id, old.name_key);
END;
CREATE TRIGGER products_search_unindex AFTER UPDATE OF name_key ON products
WHEN old.name_key IS NOT NULL BEGIN
    INSERT INTO products_fts (products_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key);
    INSERT INTO products_words (products_words, rowid, name_key) VALUES ('delete', old.id, old.name_key);
END;
CREATE TRIGGER products_search_reindex AFTER UPDATE OF name_key ON products
WHEN new.name_key IS NOT NULL BEGIN
    INSERT INTO products_fts (rowid, name_key) VALUES (new.id, new.name_key);
    INSERT INTO products_words (rowid, name_key) VALUES (new.id, new.name_key);
END;

-- 2. Tag pages in sort order from an index: each tag row carries its product's sort keys, its
--    search key and whether it is listed (not archived). Triggers copy them; nothing else writes them.
ALTER TABLE product_tags ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product_tags ADD COLUMN sold_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product_tags ADD COLUMN price INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product_tags ADD COLUMN listed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product_tags ADD COLUMN name_key TEXT;
UPDATE product_tags SET (created_at, sold_count, price, listed, name_key) = (
    SELECT p.created_at, p.sold_count, p.price, p.archived_at IS NULL, p.name_key FROM products p
    WHERE p.id = product_tags.product_id
);
CREATE INDEX product_tags_newest_idx ON product_tags (tag, created_at DESC, product_id DESC, name_key) WHERE listed = 1;
CREATE INDEX product_tags_best_idx ON product_tags (tag, sold_count DESC, product_id DESC, name_key) WHERE listed = 1;
CREATE INDEX product_tags_price_idx ON product_tags (tag, price, product_id, name_key) WHERE listed = 1;

-- 3. Listed products per tag, for the popular-tag chips and exact tag page counts.
CREATE TABLE tag_counts (
    tag      TEXT PRIMARY KEY,
    products INTEGER NOT NULL DEFAULT 0 CHECK (products >= 0)
);
INSERT INTO tag_counts (tag, products) SELECT tag, SUM(listed) FROM product_tags GROUP BY tag;
CREATE INDEX tag_counts_popular_idx ON tag_counts (products DESC, tag);

CREATE TRIGGER product_tags_fill AFTER INSERT ON product_tags BEGIN
    INSERT INTO tag_counts (tag, products) VALUES (new.tag, 0) ON CONFLICT (tag) DO NOTHING;
    UPDATE tag_counts SET products = products + new.listed WHERE tag = new.tag;
    UPDATE product_tags SET (created_at, sold_count, price, listed, name_key) = (
        SELECT p.created_at, p.sold_count, p.price, p.archived_at IS NULL, p.name_key FROM products p
        WHERE p.id = new.product_id
    ) WHERE product_id = new.product_id AND tag = new.tag;
END;
CREATE TRIGGER product_tags_count_listed AFTER UPDATE OF listed ON product_tags
WHEN old.listed <> new.listed BEGIN
    UPDATE tag_counts SET products = products + new.listed - old.listed WHERE tag = new.tag;
END;
CREATE TRIGGER product_tags_count_delete AFTER DELETE ON product_tags BEGIN
    UPDATE tag_counts SET products = products - old.listed WHERE tag = old.tag;
END;
CREATE TRIGGER products_tag_keys AFTER UPDATE OF created_at, sold_count, price, archived_at, name_key
ON products BEGIN
    UPDATE product_tags SET created_at = new.created_at, sold_count = new.sold_count,
        price = new.price, listed = new.archived_at IS NULL, name_key = new.name_key
    WHERE product_id = new.id;
END;
