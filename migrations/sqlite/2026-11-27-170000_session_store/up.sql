-- Portal sessions move onto actix-session: the cookie now carries an encrypted session
-- key whose SHA-256 is `token_hash`, and session state beyond the columns lives in
-- `state` (a JSON object). Cookies of the old format cannot be read any more, so every
-- session ends once.
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN state TEXT NOT NULL DEFAULT '{}';
