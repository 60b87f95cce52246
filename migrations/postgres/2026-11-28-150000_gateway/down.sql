DROP TABLE changes;
CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN
        ('credential', 'app', 'subscription', 'product', 'membership', 'organisation')),
    org_id TEXT,
    app_id TEXT,
    product_id TEXT,
    user_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX changes_by_created ON changes (created_at);
DROP TABLE quota_counts;
ALTER TABLE credentials DROP COLUMN allowed_ips;
DROP TABLE gateway_tokens;
