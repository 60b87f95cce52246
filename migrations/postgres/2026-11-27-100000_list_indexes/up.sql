-- Stored lower-cased names for indexed prefix search and name order, kept by the
-- application on every insert and rename. "C" collation (byte order) so that
-- `key >= prefix AND key < prefix || U+10FFFF` is a prefix search, as on SQLite;
-- e-mail addresses (stored lower-cased) compare the same way.
ALTER TABLE users ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE users SET name_key = lower(display_name);
ALTER TABLE users ALTER COLUMN email TYPE TEXT COLLATE "C";
ALTER TABLE teams ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE teams SET name_key = lower(name);
ALTER TABLE products ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE products SET name_key = lower(name);

-- Keyset-paged lists: every filter and order a list offers has an index that ends in
-- the row's id, so a page reads its rows and no more.
CREATE INDEX users_by_name_key ON users (name_key, id);
CREATE INDEX teams_by_name_key ON teams (org_id, name_key, id);
CREATE INDEX products_by_name_key ON products (org_id, name_key, id);
CREATE INDEX memberships_by_role ON memberships (org_id, role, user_id);
CREATE INDEX memberships_by_joined ON memberships (org_id, created_at, user_id);
CREATE INDEX invitations_open ON invitations (org_id, id)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX api_tokens_by_user_kind ON api_tokens (user_id, kind, id);
CREATE INDEX api_tokens_by_org_kind ON api_tokens (org_id, kind, id);
CREATE INDEX notifications_by_user_id ON notifications (user_id, id);
CREATE INDEX notifications_by_user_org ON notifications (user_id, org_id, id);
CREATE INDEX email_outbox_by_status ON email_outbox (status, id);
CREATE INDEX subscriptions_by_app_id ON subscriptions (app_id, id);
CREATE INDEX credentials_by_app_id ON credentials (app_id, id);
