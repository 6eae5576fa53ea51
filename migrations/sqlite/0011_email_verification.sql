-- When the account's email address was shown to be the holder's. Accounts made before
-- verification existed keep working as they did (they count as verified from their creation).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
UPDATE users SET email_verified_at = created_at;

-- Codes (6 digits) and links sent to verify an address: only hashes are kept; a code allows a
-- few tries, both die after a few minutes; the newest unused one is the one that counts.
CREATE TABLE email_verifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tries      BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT
);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id, created_at);
CREATE UNIQUE INDEX email_verifications_token_idx ON email_verifications (token_hash);
