-- Bearer tokens for the management API: personal access tokens (act as their user)
-- and organisation admin tokens (act with admin rights for the admin who made them).
-- Only a hash of the token is stored.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'personal' or 'admin'
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- 'read' or 'write'
    access TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    last4 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_org ON api_tokens (org_id);

-- Idempotency-Key records: a repeated POST within 24 hours replays the stored
-- response (secrets replaced by a note) instead of creating anything again.
CREATE TABLE idempotency_keys (
    -- the token that sent the request, and a hash of the key it sent
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL,
    -- hash of method, route and body: the same key with another request is refused
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    location TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, key_hash)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
