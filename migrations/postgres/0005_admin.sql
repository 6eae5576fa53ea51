-- The admin pages (issue 6).
-- A small copy of an uploaded image for listings (NULL for images given by URL).
ALTER TABLE product_images ADD COLUMN thumb_url TEXT;
-- The admin order list filters by date and shows newest first; dead letters likewise.
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX dead_letters_failed_idx ON dead_letters (failed_at DESC, id DESC);
