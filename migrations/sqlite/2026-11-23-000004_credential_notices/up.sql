-- Which expiry warnings were sent for a credential, so each is sent once.
CREATE TABLE credential_notices (
    credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (credential_id, kind)
);
