-- A catalog of a million products (docs/catalog.md explains every choice with its plan).

-- 1. Folded names. `name_key` is `shop_domain::search::search_key(name)`: lowercase, accents
--    removed, punctuation turned into single spaces. The store writes it with the name; rows
--    from before this migration are filled by `Store::migrate` (NULL until then).
ALTER TABLE products ADD COLUMN name_key TEXT;
CREATE INDEX products_name_key_idx ON products (name_key) WHERE archived_at IS NULL;
-- 3+ characters: a trigram index answers `name_key LIKE '%text%'`.
DROP INDEX products_name_trgm_idx;
CREATE INDEX products_name_key_trgm_idx ON products USING gin (name_key gin_trgm_ops);
-- The sort indexes carry the key, so walking one for a common word filters index entries
-- without visiting the table (an index-only scan once vacuumed; 96 ms → 8 ms for page 20 of
-- "lamp" by price; docs/catalog.md).
DROP INDEX products_newest_idx;
DROP INDEX products_best_idx;
DROP INDEX products_price_idx;
CREATE INDEX products_newest_idx ON products (created_at DESC, id DESC) INCLUDE (name_key) WHERE archived_at IS NULL;
CREATE INDEX products_best_idx ON products (sold_count DESC, id DESC) INCLUDE (name_key) WHERE archived_at IS NULL;
CREATE INDEX products_price_idx ON products (price, id) INCLUDE (name_key) WHERE archived_at IS NULL;
-- 1–2 characters: words of the key with a prefix query (`'la':*`).
CREATE INDEX products_name_key_words_idx ON products USING gin (to_tsvector('simple', COALESCE(name_key, '')));

-- 2. Tag pages in sort order from an index: each tag row carries its product's sort keys and
--    whether it is listed (not archived). Triggers copy them; nothing else writes them.
ALTER TABLE product_tags ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE product_tags ADD COLUMN sold_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE product_tags ADD COLUMN price BIGINT NOT NULL DEFAULT 0;
ALTER TABLE product_tags ADD COLUMN listed BIGINT NOT NULL DEFAULT 0;
UPDATE product_tags t SET created_at = p.created_at, sold_count = p.sold_count, price = p.price,
    listed = CASE WHEN p.archived_at IS NULL THEN 1 ELSE 0 END
FROM products p WHERE p.id = t.product_id;
CREATE INDEX product_tags_newest_idx ON product_tags (tag, created_at DESC, product_id DESC) WHERE listed = 1;
CREATE INDEX product_tags_best_idx ON product_tags (tag, sold_count DESC, product_id DESC) WHERE listed = 1;
CREATE INDEX product_tags_price_idx ON product_tags (tag, price, product_id) WHERE listed = 1;

-- 3. Listed products per tag, for the popular-tag chips and exact tag page counts.
CREATE TABLE tag_counts (
    tag      TEXT PRIMARY KEY,
    products BIGINT NOT NULL DEFAULT 0 CHECK (products >= 0)
);
INSERT INTO tag_counts (tag, products) SELECT tag, SUM(listed) FROM product_tags GROUP BY tag;
CREATE INDEX tag_counts_popular_idx ON tag_counts (products DESC, tag);

CREATE FUNCTION product_tags_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT p.created_at, p.sold_count, p.price, CASE WHEN p.archived_at IS NULL THEN 1 ELSE 0 END
    INTO NEW.created_at, NEW.sold_count, NEW.price, NEW.listed
    FROM products p WHERE p.id = NEW.product_id;
    RETURN NEW;
END $$;
CREATE TRIGGER product_tags_fill BEFORE INSERT ON product_tags
FOR EACH ROW EXECUTE FUNCTION product_tags_fill();

-- Inserts and deletes count per statement from the transition table: one upsert per tag
-- touched, so a bulk load of 2M tag rows does not update the same 40 counter rows 2M times
-- (each update of a row in one transaction walks all its earlier versions).
CREATE FUNCTION product_tags_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tag_counts AS c (tag, products)
    SELECT tag, SUM(listed) FROM added GROUP BY tag
    ON CONFLICT (tag) DO UPDATE SET products = c.products + EXCLUDED.products;
    RETURN NULL;
END $$;
CREATE TRIGGER product_tags_count_insert AFTER INSERT ON product_tags
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION product_tags_count_added();

CREATE FUNCTION product_tags_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tag_counts c SET products = c.products - r.n
    FROM (SELECT tag, SUM(listed) AS n FROM removed GROUP BY tag) r
    WHERE c.tag = r.tag AND r.n <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER product_tags_count_delete AFTER DELETE ON product_tags
REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION product_tags_count_removed();

-- Only a change of `listed` (archiving) moves a count: sort-key copies (every sale) never
-- touch tag_counts.
CREATE FUNCTION product_tags_count_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tag_counts SET products = products + NEW.listed - OLD.listed WHERE tag = NEW.tag;
    RETURN NULL;
END $$;
CREATE TRIGGER product_tags_count_listed AFTER UPDATE OF listed ON product_tags
FOR EACH ROW WHEN (OLD.listed <> NEW.listed) EXECUTE FUNCTION product_tags_count_listed();

CREATE FUNCTION products_tag_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_tags SET created_at = NEW.created_at, sold_count = NEW.sold_count,
        price = NEW.price, listed = CASE WHEN NEW.archived_at IS NULL THEN 1 ELSE 0 END
    WHERE product_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER products_tag_keys AFTER UPDATE OF created_at, sold_count, price, archived_at ON products
FOR EACH ROW
WHEN (ROW(OLD.created_at, OLD.sold_count, OLD.price, OLD.archived_at)
    IS DISTINCT FROM ROW(NEW.created_at, NEW.sold_count, NEW.price, NEW.archived_at))
EXECUTE FUNCTION products_tag_keys();
