-- The card brand ("Visa") or bank name shown next to the masked number.
ALTER TABLE payment_methods ADD COLUMN label TEXT NOT NULL DEFAULT '';
