-- Nothing to undo: the cancelled subscriptions belonged to revoked or deleted apps.
SELECT 1;
