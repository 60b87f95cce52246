-- Emails whose token is minted at send time, and tokens not minted yet, cannot be
-- served by the older schema: they go.
DELETE FROM email_outbox WHERE link_kind IS NOT NULL AND status <> 'sent';
ALTER TABLE email_outbox DROP COLUMN link_ref;
ALTER TABLE email_outbox DROP COLUMN link_kind;

DELETE FROM user_tokens WHERE token_hash IS NULL;
ALTER TABLE user_tokens ALTER COLUMN token_hash SET NOT NULL;

DROP INDEX invitations_by_email_token;
ALTER TABLE invitations DROP COLUMN email_token_hash;
