-- OAuth2 and JWT (issue 13).

-- The keys access tokens are signed with. The private part is sealed (ChaCha20-Poly1305)
-- with a key derived from the instance secret key, so instances sharing the secret key
-- file share the signing keys. The newest generation signs; every key not yet retired
-- is published in the JWKS. 'generation' is unique: two instances starting together
-- on an empty database both try generation 1 and exactly one wins.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retire_at TIMESTAMP
);

-- Refresh tokens issued by /api/v1/login: opaque, stored as keyed hashes, rotated on
-- every use. A family is one chain of rotations; reuse of a spent token revokes it.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    family_expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    replaced_by TEXT,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_app ON refresh_tokens (app_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

-- Static tokens: what /api/v1/login gives for an API key; accepted wherever the key is,
-- dead when the key dies.
CREATE TABLE static_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    app_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    last4 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX static_tokens_by_credential ON static_tokens (credential_id, created_at);
CREATE INDEX static_tokens_by_app ON static_tokens (app_id);

-- The jti of every client assertion accepted, until it expires: a replay fails on every
-- instance (the primary key).
CREATE TABLE assertion_jtis (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jtis_by_expiry ON assertion_jtis (expires_at);

-- Access tokens revoked before they expire (RFC 7009), kept until they would have.
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX revoked_access_tokens_by_app ON revoked_access_tokens (app_id, expires_at);
CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at);

-- The change feed learns signing keys (rows are transient: recreate it).
DROP TABLE changes;
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN
        ('credential', 'app', 'subscription', 'product', 'membership', 'organisation',
         'gateway', 'signing_key')),
    org_id TEXT,
    app_id TEXT,
    product_id TEXT,
    user_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX changes_by_created ON changes (created_at);
