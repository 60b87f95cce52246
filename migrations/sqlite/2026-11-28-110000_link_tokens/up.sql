-- No link token reaches the database in plaintext any more. A queued email names the
-- link it carries (`link_kind` and the row it opens, `link_ref`) and its body holds a
-- mark where the token goes; the outbox worker mints the token as it sends the email
-- and stores only its hash. A verification or reset token row is written unminted
-- (no hash) when the link is asked for. An invitation has the token of the link shown
-- once to the admin (`token_hash`) and that of the emailed link (`email_token_hash`).
ALTER TABLE email_outbox ADD COLUMN link_kind TEXT
    CHECK (link_kind IN ('verify_email', 'reset_password', 'invitation'));
ALTER TABLE email_outbox ADD COLUMN link_ref TEXT;

CREATE TABLE user_tokens_minted (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash TEXT UNIQUE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
INSERT INTO user_tokens_minted
    (id, user_id, purpose, token_hash, email, created_at, expires_at, used_at)
    SELECT id, user_id, purpose, token_hash, email, created_at, expires_at, used_at
    FROM user_tokens;
DROP TABLE user_tokens;
ALTER TABLE user_tokens_minted RENAME TO user_tokens;
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, purpose);

ALTER TABLE invitations ADD COLUMN email_token_hash TEXT;
CREATE UNIQUE INDEX invitations_by_email_token ON invitations (email_token_hash);

-- Every link that is open now had its token written in plaintext into an email's body,
-- and a copy may survive in the database files: those links expire now (people ask
-- for a new one; admins re-send invitations), and the emails that still carry one are
-- not sent.
UPDATE user_tokens SET expires_at = CURRENT_TIMESTAMP
    WHERE used_at IS NULL AND expires_at > CURRENT_TIMESTAMP;
UPDATE invitations SET expires_at = CURRENT_TIMESTAMP
    WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > CURRENT_TIMESTAMP;
UPDATE email_outbox
    SET body = '', status = 'dead',
        last_error = 'not sent: its link was withdrawn by an upgrade; ask for a new one'
    WHERE status <> 'sent'
      AND (body LIKE '%/verify-email/%' OR body LIKE '%/reset-password/%'
           OR body LIKE '%/invite/%');
