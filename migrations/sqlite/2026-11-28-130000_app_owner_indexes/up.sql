-- A developer's app lists scan one owner (the user, or one of their teams) within one
-- organisation: the organisation belongs in the owner indexes, so counting a 1,000-app
-- team's apps reads the index alone instead of every app's row.
DROP INDEX apps_user_status_id;
DROP INDEX apps_user_status_name;
DROP INDEX apps_team_status_id;
DROP INDEX apps_team_status_name;
CREATE INDEX apps_user_org_status_id ON apps (owner_user_id, org_id, status, id);
CREATE INDEX apps_user_org_status_name ON apps (owner_user_id, org_id, status, name_lower, id);
CREATE INDEX apps_team_org_status_id ON apps (owner_team_id, org_id, status, id);
CREATE INDEX apps_team_org_status_name ON apps (owner_team_id, org_id, status, name_lower, id);
