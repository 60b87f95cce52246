-- Gateway tokens: what API gateways authenticate with on the verify endpoints. Shown
-- once, stored as the keyed hash of the token, scoped to one organisation, optionally
-- bound to a default product (used by auth-request when no product header is sent).
CREATE TABLE gateway_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    last4 TEXT NOT NULL,
    default_product_id TEXT REFERENCES products (id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX gateway_tokens_by_org ON gateway_tokens (org_id, id);

-- An optional allowlist per credential: CIDRs separated by spaces ('' = any address).
ALTER TABLE credentials ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '';

-- Quota counts: accepted verifies per app, product and calendar window (UTC), added
-- to by every instance in batches.
CREATE TABLE quota_counts (
    app_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (app_id, product_id, window_start)
);
CREATE INDEX quota_counts_by_window ON quota_counts (window_start);

-- The change feed learns gateway tokens (rows are transient: recreate it).
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
