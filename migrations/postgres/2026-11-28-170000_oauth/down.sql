DROP TABLE changes;
CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN
        ('credential', 'app', 'subscription', 'product', 'membership', 'organisation',
         'gateway')),
    org_id TEXT,
    app_id TEXT,
    product_id TEXT,
    user_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX changes_by_created ON changes (created_at);
DROP TABLE revoked_access_tokens;
DROP TABLE assertion_jtis;
DROP TABLE static_tokens;
DROP TABLE refresh_tokens;
DROP TABLE signing_keys;
