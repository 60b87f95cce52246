CREATE TABLE products (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    summary TEXT NOT NULL,
    docs_markdown TEXT NOT NULL,
    openapi_json TEXT,
    visibility TEXT NOT NULL CHECK (visibility IN ('members', 'teams')),
    approval_mode TEXT NOT NULL CHECK (approval_mode IN ('auto', 'manual')),
    quota_limit BIGINT,
    quota_period TEXT CHECK (quota_period IN ('minute', 'hour', 'day', 'month')),
    rate_limit_per_second BIGINT,
    max_credential_lifetime_seconds BIGINT,
    scopes TEXT NOT NULL,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE product_teams (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, team_id)
);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
    note TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    decided_by TEXT,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX subscriptions_by_app ON subscriptions (app_id, created_at);
CREATE INDEX subscriptions_by_status ON subscriptions (status, created_at);
-- One live (pending or approved) subscription per app and product.
CREATE UNIQUE INDEX subscriptions_live_once ON subscriptions (app_id, product_id)
    WHERE status IN ('pending', 'approved');

CREATE TABLE approval_settings (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('auto', 'manual', 'conditional')),
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE approval_rules (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('team', 'email_domain')),
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, kind, value)
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT REFERENCES organisations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at);

CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    email BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE email_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);

CREATE TABLE user_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, purpose);

ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
