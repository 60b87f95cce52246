DROP INDEX audit_events_by_target;
DROP TABLE form_nonces;
DROP TABLE credentials;
DROP INDEX apps_unique_name_per_owner;
DROP TABLE apps;
DROP TABLE team_members;
DROP TABLE teams;
