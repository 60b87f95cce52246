-- An admin token dies for good when its creator stops being an admin or owner of its
-- organisation: demotion now revokes it. Tokens that stopped working by an earlier
-- demotion (or removal) are revoked here, so that promoting their creator again does
-- not bring them back.
UPDATE api_tokens
SET revoked_at = (now() AT TIME ZONE 'UTC')
WHERE kind = 'admin'
  AND revoked_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM memberships m
    WHERE m.org_id = api_tokens.org_id
      AND m.user_id = api_tokens.user_id
      AND m.role IN ('admin', 'owner')
  );
