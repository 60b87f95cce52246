-- A gateway token's name says which gateway holds it, so two live tokens of one
-- organisation never share one (a revoked token frees its name). The service checks
-- first with a clear message; this index settles two concurrent creations.
CREATE UNIQUE INDEX gateway_tokens_live_name ON gateway_tokens (org_id, name)
    WHERE revoked_at IS NULL;
