DELETE FROM sessions;
ALTER TABLE sessions DROP COLUMN state;
