CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_by_user ON team_members (user_id);

CREATE TABLE apps (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    owner_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    owner_team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    callback_urls TEXT NOT NULL,
    auth_type TEXT NOT NULL CHECK (auth_type IN ('api_key', 'oauth2', 'jwt')),
    client_id TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'suspended', 'revoked', 'deleted')),
    status_reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX apps_by_org ON apps (org_id, status, created_at);
-- One live app of a name per owner (revoked and deleted apps free their names).
CREATE UNIQUE INDEX apps_unique_name_per_owner
    ON apps (org_id, COALESCE(owner_user_id, ''), COALESCE(owner_team_id, ''), lower(name))
    WHERE status NOT IN ('revoked', 'deleted');
CREATE INDEX apps_by_owner_user ON apps (owner_user_id);
CREATE INDEX apps_by_owner_team ON apps (owner_team_id);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('api_key', 'client_secret', 'public_key')),
    label TEXT NOT NULL,
    secret_hash TEXT UNIQUE,
    prefix TEXT NOT NULL,
    last4 TEXT NOT NULL,
    public_key TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX credentials_by_app ON credentials (app_id, created_at);

CREATE TABLE form_nonces (
    nonce_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    result TEXT
);

CREATE INDEX audit_events_by_target ON audit_events (target, created_at);
