-- Revoked tokens stay revoked: there is nothing to undo.
SELECT 1;
