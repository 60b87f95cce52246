DROP TABLE credential_notices;
