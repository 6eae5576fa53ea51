-- Sessions are stored under the SHA-256 of their id (a copy of the database or a backup no
-- longer holds live cookies) and know their user, so a password change can end every other
-- session of that user. Sessions stored under clear ids cannot be found any more: drop them
-- (everyone signs in once again).
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN user_id BIGINT;
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
