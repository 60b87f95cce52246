-- The change feed: one row per write that can change a key verification's answer,
-- written in the same transaction as the write. Other instances poll it by id (see
-- `models::changes`); rows older than the retention window are deleted by housekeeping.
-- `kind` names the entity that changed; the id columns name what it touched.
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
