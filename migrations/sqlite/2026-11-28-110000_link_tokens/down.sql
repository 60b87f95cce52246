-- Emails whose token is minted at send time, and tokens not minted yet, cannot be
-- served by the older schema: they go.
DELETE FROM email_outbox WHERE link_kind IS NOT NULL AND status <> 'sent';
ALTER TABLE email_outbox DROP COLUMN link_ref;
ALTER TABLE email_outbox DROP COLUMN link_kind;

DELETE FROM user_tokens WHERE token_hash IS NULL;
CREATE TABLE user_tokens_plain (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
INSERT INTO user_tokens_plain
    (id, user_id, purpose, token_hash, email, created_at, expires_at, used_at)
    SELECT id, user_id, purpose, token_hash, email, created_at, expires_at, used_at
    FROM user_tokens;
DROP TABLE user_tokens;
ALTER TABLE user_tokens_plain RENAME TO user_tokens;
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, purpose);

DROP INDEX invitations_by_email_token;
ALTER TABLE invitations DROP COLUMN email_token_hash;
