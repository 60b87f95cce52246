DROP TABLE audit_events;
DROP TABLE instance_settings;
DROP TABLE sessions;
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE organisations;
DROP TABLE users;
