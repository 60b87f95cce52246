-- The approval queue reads pending subscriptions from their own index, without
-- joining apps: revoking or deleting an app cancels its pending and approved
-- subscriptions, and this brings rows written before that rule into line.
UPDATE subscriptions SET status = 'cancelled', updated_at = CURRENT_TIMESTAMP
WHERE status IN ('pending', 'approved')
  AND app_id IN (SELECT id FROM apps WHERE status IN ('revoked', 'deleted'));
