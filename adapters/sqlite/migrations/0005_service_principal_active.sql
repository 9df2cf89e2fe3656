-- schema version 5: a service principal can be disabled.
ALTER TABLE service_principals ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
