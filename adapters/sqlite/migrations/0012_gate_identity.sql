-- schema version 12: which header of a gate check names a gateway's user (JSON; NULL: the default).
ALTER TABLE service_principals ADD COLUMN identity TEXT;
