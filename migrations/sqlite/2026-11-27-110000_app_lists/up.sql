-- App lists page in SQL: a stored lower-cased name for prefix search and name order,
-- and one index per (owner scope, status, order) the lists use.
ALTER TABLE apps ADD COLUMN name_lower TEXT NOT NULL DEFAULT '';
UPDATE apps SET name_lower = lower(name);
DROP INDEX apps_by_org;
DROP INDEX apps_by_owner_user;
DROP INDEX apps_by_owner_team;
CREATE INDEX apps_org_status_id ON apps (org_id, status, id);
CREATE INDEX apps_org_status_name ON apps (org_id, status, name_lower, id);
CREATE INDEX apps_user_status_id ON apps (owner_user_id, status, id);
CREATE INDEX apps_user_status_name ON apps (owner_user_id, status, name_lower, id);
CREATE INDEX apps_team_status_id ON apps (owner_team_id, status, id);
CREATE INDEX apps_team_status_name ON apps (owner_team_id, status, name_lower, id);
-- The approval queue pages an organisation's pending subscriptions in SQL: each
-- subscription carries its organisation (its product's), indexed with status and order.
ALTER TABLE subscriptions ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
UPDATE subscriptions SET org_id = (SELECT products.org_id FROM products WHERE products.id = subscriptions.product_id);
CREATE INDEX subscriptions_org_status_id ON subscriptions (org_id, status, id);
CREATE INDEX subscriptions_org_status_product_id ON subscriptions (org_id, status, product_id, id);
-- The notification bell counts a user's unread items on their own index.
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;
