DROP INDEX apps_team_org_status_name;
DROP INDEX apps_team_org_status_id;
DROP INDEX apps_user_org_status_name;
DROP INDEX apps_user_org_status_id;
CREATE INDEX apps_user_status_id ON apps (owner_user_id, status, id);
CREATE INDEX apps_user_status_name ON apps (owner_user_id, status, name_lower, id);
CREATE INDEX apps_team_status_id ON apps (owner_team_id, status, id);
CREATE INDEX apps_team_status_name ON apps (owner_team_id, status, name_lower, id);
